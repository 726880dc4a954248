-- music.lua: an animation with music under it. Given a sound file it plays that (cut or
-- padded with silence to the picture); without one it makes its own: a plucked arpeggio.
--   vstudio run examples/music.lua -o music.mp4              (its own tune)
--   vstudio run examples/music.lua -o music.mp4 -- song.mp3  (your music)
local vs = require 'vstudio'
local sin, exp, floor, pi = math.sin, math.exp, math.floor, math.pi

local DURATION, BEAT = 8, 0.25 -- seconds; one note per beat
local NOTES = { 220.00, 261.63, 329.63, 440.00, 392.00, 329.63, 293.66, 246.94 }

local music
if arg and arg[1] then
  music = vs.audio(arg[1])
else
  -- fill writes n samples from sample `first`: a function of the sample number alone, so
  -- any block, in any order, comes out the same
  music = vs.audio { duration = DURATION, rate = 48000, channels = 1,
    fill = function(buf, n, _, first)
      for i = 0, n - 1 do
        local t = (first + i) / 48000
        local k = floor(t / BEAT)
        local u = t - k * BEAT -- time since this note began
        local f = NOTES[k % #NOTES + 1]
        buf[i] = 0.3 * exp(-7 * u) * (sin(2 * pi * f * u) + 0.3 * sin(4 * pi * f * u))
      end
    end }
end

local picture = vs.clip {
  size = { 640, 360 }, fps = 30, duration = DURATION,
  draw = function(frame, t)
    frame:fill(16, 18, 30)
    local k = floor(t / BEAT)
    local pulse = exp(-7 * (t - k * BEAT)) -- the picture beats with the notes
    for i = 0, #NOTES - 1 do
      local lit = i == k % #NOTES
      local h = 40 + (lit and 200 * pulse or 20)
      frame:rect { x = 40 + i * 72, y = 300 - h, w = 56, h = h,
                   color = lit and { 255, 200, 80 } or { 70, 90, 140 } }
    end
    frame:circle { x = 320, y = 80, r = 20 + 30 * pulse, color = { 240, 240, 255 } }
  end,
}

return picture:with_audio(music:fade_in(0.05):fade_out(1))
