-- examples/act.lua: a pympanim-style act: one state, scenes that change it
-- with easing, one render function that draws the state.
--   vstudio run examples/act.lua -o act.mp4
local vs = require 'vstudio'

local W, H = 480, 270

local enter = vs.scene{ duration = 1, apply = function(s, p) s.x = -40 + (W / 2 + 40) * p end }
local grow = vs.scene{ duration = 0.8, apply = function(s, p) s.r = 20 + 40 * p end }
local spin = vs.scene{ duration = 1.2, apply = function(s, p) s.angle = 2 * math.pi * p end }
local leave = vs.scene{ duration = 1, apply = function(s, p) s.y = H / 2 + (H / 2 + 80) * p end }

return vs.act{
  size = { W, H }, fps = 30,
  state = function() return { x = -40, y = H / 2, r = 20, angle = 0 } end,
  scenes = {
    enter:ease(vs.ease.out_bounce),
    grow:ease(vs.ease.in_out_back),
    spin:ease('in_out_cubic'),
    grow:reverse():speed(2),
    leave:ease(vs.ease.in_back),
  },
  render = function(s, frame)
    frame:gradient{ { 15, 15, 25 }, { 40, 40, 70 } }
    frame:circle{ x = s.x, y = s.y, r = s.r, color = { 250, 180, 40 } }
    -- a hand on the disc shows the spin
    local hx, hy = s.x + math.cos(s.angle) * s.r * 0.8, s.y + math.sin(s.angle) * s.r * 0.8
    frame:line{ x0 = s.x, y0 = s.y, x1 = hx, y1 = hy, width = 4, color = { 40, 20, 10 } }
  end,
}
