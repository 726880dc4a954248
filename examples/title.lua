-- examples/title.lua: a title card: text over a gradient, fading in.
--   vstudio run examples/title.lua -o title.mp4 [-- "Your title" "subtitle"]
local vs = require 'vstudio'

local W, H, FPS = 640, 360, 30
local title = arg and arg[1] or 'vstudio'
local subtitle = arg and arg[2] or 'Lua-scriptable video studio'

local background = vs.clip{ size = { W, H }, fps = FPS, duration = 3, draw = function(frame, t)
  -- the gradient turns slowly
  frame:gradient{ { 20, 24, 60 }, { 120, 40, 90 }, direction = 60 + 20 * t }
  frame:line{ x0 = W * 0.2, y0 = H * 0.62, x1 = W * 0.8, y1 = H * 0.62, width = 2, color = { 255, 255, 255, 160 } }
end }

local big = vs.text(title, { size = 64, color = { 255, 255, 255 }, fps = FPS, duration = 3 })
local small = vs.text(subtitle, { size = 22, color = { 230, 220, 255 }, fps = FPS, duration = 3 })

local function fade_in(start, length)
  return function(t) return math.max(0, math.min(1, (t - start) / length)) end
end

return vs.overlay{
  background,
  big:opacity(fade_in(0, 0.8)):at('center', function(t) return H * 0.3 - 20 * vs.ease.out_cubic(math.min(1, t)) end),
  small:opacity(fade_in(0.6, 0.8)):at('center', H * 0.66),
}
