-- mandelbrot.lua: a per-pixel Mandelbrot zoom (64 iterations, escape loop),
-- the benchmark's heavy generator: plain Lua loops over frame:row(y).
--   vstudio run examples/mandelbrot.lua -o zoom.mp4 [-- WIDTH HEIGHT SECONDS]
local vs = require 'vstudio'

local width = tonumber(arg and arg[1]) or 640
local height = tonumber(arg and arg[2]) or 360
local seconds = tonumber(arg and arg[3]) or 4
local ITER = 64
local cx, cy = -0.743643887037151, 0.131825904205330

return vs.clip {
  size = { width, height }, fps = 30, duration = seconds,
  draw = function(frame, t)
    local scale = 3.0 * 0.7 ^ (t * 2) / width
    for py = 0, frame.height - 1 do
      local row = frame:row(py)
      local y0 = cy + (py - height / 2) * scale
      for px = 0, frame.width - 1 do
        local x0 = cx + (px - width / 2) * scale
        local x, y, i = 0.0, 0.0, 0
        while i < ITER and x * x + y * y <= 4.0 do
          x, y = x * x - y * y + x0, 2 * x * y + y0
          i = i + 1
        end
        local o = px * 4
        if i == ITER then
          row[o], row[o + 1], row[o + 2] = 0, 0, 0
        else
          row[o], row[o + 1], row[o + 2] = (i * 9) % 256, (i * 5) % 256, (i * 17) % 256
        end
      end
    end
  end,
}
