-- args.lua: a script configured from the command line. Arguments after `--`
-- arrive in the global table `arg`, as with luajit:
--   vstudio run examples/args.lua -o bars.mp4 -- 12 3   (12 bars, 3 seconds)
local vs = require 'vstudio'

local bars = tonumber(arg and arg[1]) or 8
local seconds = tonumber(arg and arg[2]) or 2
if bars < 1 or bars > 200 then error('args.lua: bars must be 1..200, got ' .. tostring(arg[1])) end

return vs.clip {
  size = { 480, 270 }, fps = 30, duration = seconds,
  draw = function(frame, t)
    local w = frame.width / bars
    for i = 0, bars - 1 do
      local h = frame.height * (0.5 + 0.45 * math.sin(t * 2 + i * 0.7))
      frame:rect { x = i * w + 2, y = frame.height - h, w = w - 4, h = h,
                   color = { 255 * i / bars, 180, 255 - 255 * i / bars } }
    end
  end,
}
