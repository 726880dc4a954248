-- examples/pip.lua: picture in picture: a clip shrunk into a framed inset
-- that glides across a background, semi-transparent while it moves.
--   vstudio run examples/pip.lua -o pip.mp4 [-- main.mp4 inset.mp4]
local vs = require 'vstudio'

local W, H, FPS, SECONDS = 640, 360, 30, 4

-- A video given on the command line (needs vs.video), else a generated clip.
local function source(path, hue)
  if path and vs.video then
    local v = vs.video(path)
    return v:with_fps(FPS):resize{ W, H }:loop(math.ceil(SECONDS / v.duration)):trim(0, SECONDS)
  end
  return vs.clip{ size = { W, H }, fps = FPS, duration = SECONDS, draw = function(frame, t)
    frame:gradient{ { hue, 40, 80 }, { 30, hue, 120 }, direction = 45 * t }
    for i = 0, 5 do
      local a = t * 1.5 + i
      frame:circle{ x = W / 2 + math.cos(a) * W / 3, y = H / 2 + math.sin(a * 1.3) * H / 3, r = 18 + 4 * i,
                    color = { 255, 255, 255, 90 } }
    end
  end }
end

local main = source(arg and arg[1], 120)
local inset = source(arg and arg[2], 220)
  :resize{ w = W / 4 }
  :map(function(frame) frame:rect{ 0, 0, frame.width, 3 }; frame:rect{ 0, frame.height - 3, frame.width, 3 }
                       frame:rect{ 0, 0, 3, frame.height }; frame:rect{ frame.width - 3, 0, 3, frame.height } end)

local iw, ih = W / 4, H / 4
local ease = vs.ease.in_out_sine
return vs.overlay{
  main,
  inset
    :opacity(function(t) return 0.6 + 0.4 * math.abs(math.cos(t * math.pi / 2)) end)
    :at(function(t) return 16 + (W - iw - 32) * ease((t % 2) / 2) end,
        function(t) return H - ih - 16 end),
}
