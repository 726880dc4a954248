-- examples/typewriter.lua: a title that fades in, a line typed out under it,
-- a curve drawn as one path, and a fade to black at the end.
--   vstudio run examples/typewriter.lua -o typewriter.mp4 [-- "Title" "the typed line"]
local vs = require 'vstudio'

local W, H, FPS, SECONDS = 1280, 720, 30, 6
local title = arg and arg[1] or 'Motion titles'
local line = arg and arg[2] or 'shaped, wrapped, outlined, and typed out one letter at a time'

local background = vs.clip{ size = { W, H }, fps = FPS, duration = SECONDS, draw = function(frame, t)
  frame:gradient{ { 16, 20, 48 }, { 90, 30, 80 }, direction = 70 }
  -- a sine wave that grows from the left: one path, not hundreds of lines
  local pts = {}
  for i = 0, math.floor(200 * math.min(1, t / 3)) do
    local x = 80 + i * (W - 160) / 200
    pts[#pts + 1] = { x, H * 0.78 + 40 * math.sin(i / 12 + t * 2) }
  end
  if #pts >= 2 then frame:path{ points = pts, width = 4, color = { 120, 220, 255, 200 } } end
end }

local heading = vs.text(title, { size = 96, font = 'DejaVu Sans:bold', fps = FPS, duration = SECONDS,
                                 outline = 3, outline_color = { 20, 10, 40 },
                                 shadow = { x = 4, y = 6, blur = 8, color = { 0, 0, 0, 150 } } })
local typed = vs.text(line, { size = 40, width = W * 0.7, align = 'center', fps = FPS, duration = SECONDS,
                              color = { 235, 230, 255 }, background = { 0, 0, 0, 110 }, padding = 16,
                              radius = 14, reveal = 'chars', reveal_time = 3 })

return vs.overlay{
  background,
  heading:fade_in(1):at('center', H * 0.18),
  typed:delay(1):at('center', H * 0.45),
}:fade_out(0.8, 'black')
