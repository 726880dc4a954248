-- plasma.lua: a per-pixel plasma written the natural way: a loop over rows
-- through LuaJIT's FFI, which compiles to machine code over the frame.
--   vstudio run examples/plasma.lua -o plasma.mp4 [-- WIDTH HEIGHT SECONDS]
local vs = require 'vstudio'

local width = tonumber(arg and arg[1]) or 640
local height = tonumber(arg and arg[2]) or 360
local seconds = tonumber(arg and arg[3]) or 4
local sin, floor = math.sin, math.floor

return vs.clip {
  size = { width, height }, fps = 30, duration = seconds,
  draw = function(frame, t)
    for y = 0, frame.height - 1 do
      local row = frame:row(y)
      local sy = sin(y * 0.031 - t * 1.3)
      for x = 0, frame.width - 1 do
        local v = sin(x * 0.023 + t) + sy + sin((x + y) * 0.017 + t * 0.7)
        local i = x * 4
        row[i] = floor(128 + 40 * v)
        row[i + 1] = floor(128 + 40 * sin(v * 2.1 + t))
        row[i + 2] = floor(128 - 40 * v)
      end
    end
  end,
}
