-- hello.lua: the README's example: a gradient that breathes, with a circle.
local vs = require 'vstudio'
return vs.clip{ size = {640, 360}, fps = 30, duration = 3,
  draw = function(frame, t)
    for y = 0, frame.height - 1 do
      local row, v = frame:row(y), 128 + 100 * math.sin(t * 2 + y / 60)
      for x = 0, frame.width - 1 do row[x*4], row[x*4+1], row[x*4+2] = v, x % 256, 255 - v end
    end
    frame:circle{ x = 320 + 200 * math.sin(t), y = 180, r = 40, color = {255, 255, 255} }
  end }
