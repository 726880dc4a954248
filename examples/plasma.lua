-- plasma.lua: a per-pixel plasma written the natural way for LuaJIT: a loop
-- over rows through the FFI, which compiles to machine code over the frame.
-- The terms that depend on x only, y only or x+y are tabulated once a frame
-- (what numpy's broadcasting does), leaving one sin per pixel.
--   vstudio run examples/plasma.lua -o plasma.mp4 [-- WIDTH HEIGHT SECONDS]
local vs = require 'vstudio'
local ffi = require 'ffi'

local width = tonumber(arg and arg[1]) or 640
local height = tonumber(arg and arg[2]) or 360
local seconds = tonumber(arg and arg[3]) or 4
local sin, floor = math.sin, math.floor
local sx = ffi.new('double[?]', width)
local sxy = ffi.new('double[?]', width + height)

return vs.clip {
  size = { width, height }, fps = 30, duration = seconds,
  draw = function(frame, t)
    for x = 0, width - 1 do sx[x] = sin(x * 0.023 + t) end
    for i = 0, width + height - 2 do sxy[i] = sin(i * 0.017 + t * 0.7) end
    for y = 0, height - 1 do
      local row = frame:row(y)
      local sy = sin(y * 0.031 - t * 1.3)
      for x = 0, width - 1 do
        local v = sx[x] + sy + sxy[x + y]
        local i = x * 4
        row[i] = floor(128 + 40 * v)
        row[i + 1] = floor(128 + 40 * sin(v * 2.1 + t))
        row[i + 2] = floor(128 - 40 * v)
      end
    end
  end,
}
