-- examples/title_card.lua: a title card with captions, made to be shared as a GIF.
--   vstudio run examples/title_card.lua -o title_card.gif      (GIF: a palette per frame)
--   vstudio run examples/title_card.lua -o title_card.mp4
-- The captions are examples/title_card.srt, beside this script; `vstudio
-- run any.lua --captions FILE` burns a caption file onto any clip the same way.
local vs = require 'vstudio'

local W, H, FPS, SECONDS = 480, 270, 15, 4
local here = (arg and arg[0] or ''):match('^(.*)/') or '.'

local background = vs.clip{ size = { W, H }, fps = FPS, duration = SECONDS, draw = function(frame, t)
  frame:gradient{ { 16, 30, 70 }, { 110, 40, 100 }, direction = 30 + 15 * t }
end }

local title = vs.text('Title card', { size = 44, color = { 255, 255, 255 }, fps = FPS, duration = SECONDS })
local rise = function(t) return H * 0.28 - 16 * vs.ease.out_cubic(math.min(1, t / 0.8)) end

local captions = vs.captions(here .. '/title_card.srt', {
  size = { W, H }, fps = FPS, duration = SECONDS,
  font_size = 20, outline = 1.5, color = { 255, 240, 200 },
})

return vs.overlay{
  background,
  title:opacity(function(t) return math.min(1, t / 0.6) end):at('center', rise),
  captions,
}
