-- shapes.lua: moving shapes drawn with the frame's drawing methods.
--   vstudio run examples/shapes.lua -o shapes.mp4
local vs = require 'vstudio'
local sin, cos, pi = math.sin, math.cos, math.pi

return vs.clip {
  size = { 640, 360 }, fps = 30, duration = 5,
  draw = function(frame, t)
    frame:fill(18, 20, 32)
    for i = 0, 7 do
      local a = t * 0.8 + i * pi / 4
      local x, y = 320 + 130 * cos(a), 180 + 110 * sin(a * 1.3)
      frame:circle { x = x, y = y, r = 18 + 8 * sin(t * 2 + i), color = { 60 + 24 * i, 140, 255 - 24 * i } }
    end
    local w = 200 + 80 * sin(t)
    frame:rect { x = 320 - w / 2, y = 320, w = w, h = 16, color = { 240, 200, 60 } }
    frame:line { x0 = 40, y0 = 40, x1 = 600, y1 = 40 + 40 * sin(t * 3), width = 4, color = { 255, 255, 255 } }
  end,
}
