-- The sound model through the Lua API: a:samples() against samples computed here from the
-- definition (a sine of known frequency and phase), so every placement is checked to the sample.
local vs = require 'vstudio'
local helper = require 'helper'

local RATE = 48000

-- Sample j of a sine of freq Hz and amplitude amp started at sample 0.
local function sine(freq, amp, j)
  return amp * math.sin(2 * math.pi * ((j * freq / RATE) % 1))
end

-- Channel 0 of a:samples(first, n) (stereo by default).
local function left(a, first, n, opts)
  local s = a:samples(first, n, opts)
  local ch = opts and opts.channels or 2
  local out = {}
  for i = 0, n - 1 do out[i + 1] = s[i * ch + 1] end
  return out
end

local function assert_near(a, b, tol, what)
  if math.abs(a - b) > tol then error(string.format('%s: %.9g vs %.9g', what, a, b), 2) end
end

-- Crossings from negative to non-negative: about freq per second for a sine.
local function rising(xs)
  local n = 0
  for i = 2, #xs do if xs[i - 1] < 0 and xs[i] >= 0 then n = n + 1 end end
  return n
end

local function peak(xs, from, to)
  local m = 0
  for i = from or 1, to or #xs do m = math.max(m, math.abs(xs[i])) end
  return m
end

local function black(duration, fps)
  return vs.color{ 0, 0, 0, size = { 16, 16 }, duration = duration, fps = fps or 30 }
end

describe('sound', function()
  local tone = vs.tone{ freq = 1000, duration = 2, volume = 0.5 }

  it('makes a tone with the frequency, length and volume asked for', function()
    assert.are.equal(2 * RATE, tone:length(RATE))
    assert.are.equal(2, tone.duration)
    local s = left(tone, 0, 480)
    for j = 0, 479 do assert_near(s[j + 1], sine(1000, 0.5, j), 1e-6, 'sample ' .. j) end
    assert.are.equal(0, left(tone, 2 * RATE, 10)[5]) -- past the end: silence
  end)

  it('places frame k of a clip at sample floor(k * rate * fps_den / fps_num), trims and delays exactly', function()
    local c = black(2, '30000/1001'):with_audio(tone)
    assert.are.equal(math.floor(60 * RATE * 1001 / 30000), c.audio:length(RATE))
    -- trim to frames 7..40: sample 0 is the tone's sample at frame 7
    local t = c:trim(7 * 1001 / 30000, 40 * 1001 / 30000)
    local s0 = math.floor(7 * RATE * 1001 / 30000)
    assert.are.equal(math.floor(40 * RATE * 1001 / 30000) - s0, t.audio:length(RATE))
    local s = left(t.audio, 0, 100)
    for j = 0, 99 do assert_near(s[j + 1], sine(1000, 0.5, s0 + j), 1e-6, 'trimmed sample ' .. j) end
    -- delay by 3 frames: silence up to the sample where frame 3 starts, then the tone from 0
    local d = c:delay(3 * 1001 / 30000)
    local at = math.floor(3 * RATE * 1001 / 30000)
    local ds = left(d.audio, at - 50, 100)
    for j = 0, 49 do assert.are.equal(0, ds[j + 1]) end
    for j = 50, 99 do assert_near(ds[j + 1], sine(1000, 0.5, j - 50), 1e-6, 'delayed sample ' .. j) end
    -- with_fps and ease keep the sound as it is, to the new length
    local wf = c:with_fps(25)
    assert.are.equal(wf.frames * RATE / 25, wf.audio:length(RATE))
    assert_near(left(wf.audio, 500, 1)[1], sine(1000, 0.5, 500), 1e-6, 'with_fps')
    assert_near(left(c:ease('in_out_quad').audio, 500, 1)[1], sine(1000, 0.5, 500), 1e-6, 'ease')
  end)

  it('joins a sequence with each part at its first frame and crossfades over the overlap', function()
    local a = black(1):with_audio(vs.tone{ freq = 1000, duration = 5, volume = 0.5 })
    local b = black(1):with_audio(vs.tone{ freq = 1500, duration = 5, volume = 0.25 })
    local seq = a .. b
    assert.are.equal(2 * RATE, seq.audio:length(RATE))
    local s = left(seq.audio, RATE - 10, 20)
    for j = 0, 9 do assert_near(s[j + 1], sine(1000, 0.5, RATE - 10 + j), 1e-6, 'a') end
    for j = 10, 19 do assert_near(s[j + 1], sine(1500, 0.25, j - 10), 1e-6, 'b') end
    local x = vs.crossfade(a, b, 0.5) -- 15 frames of overlap from frame 15 = sample 24000
    assert.are.equal(RATE * 1.5, x.audio:length(RATE))
    local mid = left(x.audio, 36000, 1)[1] -- half way: each at half weight
    assert_near(mid, 0.5 * sine(1000, 0.5, 36000) + 0.5 * sine(1500, 0.25, 12000), 1e-5, 'crossfade middle')
    assert_near(left(x.audio, 23999, 1)[1], sine(1000, 0.5, 23999), 1e-6, 'before the overlap')
    assert_near(left(x.audio, 48000, 1)[1], sine(1500, 0.25, 24000), 1e-6, 'after the overlap')
  end)

  it('plays twice as fast an octave up with speed(2), and reverses', function()
    local c = black(2):with_audio(tone)
    local fast = c:speed(2)
    assert.are.equal(RATE, fast.audio:length(RATE))
    local s = left(fast.audio, 0, RATE)
    assert.is_true(math.abs(rising(s) - 2000) <= 2, 'crossings ' .. rising(s))
    assert.is_true(math.abs(peak(s, 1000, 40000) - 0.5) < 0.01)
    local slow = c:speed(0.5)
    assert.is_true(math.abs(rising(left(slow.audio, 0, RATE)) - 500) <= 2)
    local kept = c:speed(2, { keep_pitch = true })
    assert.are.equal(RATE, kept.audio:length(RATE))
    local ks = left(kept.audio, 0, RATE)
    assert.is_true(math.abs(rising(ks) - 1000) <= 5, 'crossings with keep_pitch ' .. rising(ks))
    assert.is_true(math.abs(peak(ks, 4000, 40000) - 0.5) < 0.05, 'level with keep_pitch')
    local kslow = c:speed(0.3, { keep_pitch = true }) -- below atempo's 0.5: chained
    assert.is_true(math.abs(rising(left(kslow.audio, 0, RATE)) - 1000) <= 5)
    local r = c:reverse()
    assert_near(left(r.audio, 10, 1)[1], sine(1000, 0.5, 2 * RATE - 11), 1e-6, 'reversed')
  end)

  it('loops at the picture loop points, and is silent while a freeze holds', function()
    local c = black(0.5):with_audio(tone) -- 15 frames, 24000 samples
    local l = c:loop(3)
    assert.are.equal(3 * 24000, l.audio:length(RATE))
    assert_near(left(l.audio, 48000 + 7, 1)[1], sine(1000, 0.5, 7), 1e-6, 'third round')
    local f = black(2):with_audio(tone):freeze(1, 0.5) -- frame 30 held 15 frames
    assert.are.equal(0, peak(left(f.audio, 48000, 24000)))
    assert_near(left(f.audio, 72000 + 5, 1)[1], sine(1000, 0.5, 48000 + 5), 1e-6, 'after the freeze')
  end)

  it('mixes overlay layers and vs.mix by summing, unclipped', function()
    local a = black(1):with_audio(vs.tone{ freq = 1000, duration = 1, volume = 0.8 })
    local b = black(1):with_audio(vs.tone{ freq = 1000, duration = 1, volume = 0.7 })
    local ov = vs.overlay{ a, b:delay(0.5) }
    assert.are.equal(RATE, ov.audio:length(RATE))
    assert_near(left(ov.audio, 12, 1)[1], sine(1000, 0.8, 12), 1e-6, 'bottom alone')
    assert_near(left(ov.audio, 30012, 1)[1], sine(1000, 0.8, 30012) + sine(1000, 0.7, 6012), 1e-5, 'both')
    local m = vs.mix{ vs.tone{ freq = 1000, duration = 1, volume = 0.8 }, vs.tone{ freq = 1000, duration = 2, volume = 0.7 } }
    assert.are.equal(2 * RATE, m:length(RATE))
    assert.is_true(peak(left(m, 0, 480)) > 1.4) -- the sum, clipped only when written
  end)

  it('sets volume by number or function of t, fades, and keeps no sound for a mute clip', function()
    local c = black(2):with_audio(tone)
    assert_near(left(c:volume(0.5).audio, 12, 1)[1], sine(1000, 0.25, 12), 1e-6, 'half')
    local ramp = c:volume(function(t) return t / 2 end)
    assert_near(left(ramp.audio, 48012, 1)[1], 0.5 * sine(1000, 0.5, 48012), 1e-4, 'ramp at 1 s')
    local fi = tone:fade_in(1)
    assert_near(left(fi, 24012, 1)[1], (24012 / 48000) * sine(1000, 0.5, 24012), 1e-5, 'fade in')
    local fo = tone:fade_out(1)
    assert_near(left(fo, 72012, 1)[1], (1 - 24012 / 48000) * sine(1000, 0.5, 72012), 1e-5, 'fade out')
    assert.is_nil(c:mute().audio)
    assert.is_nil(c:mute():trim(0, 1).audio)
    assert.is_nil(black(1).audio)
    local drawn = vs.clip{ size = { 8, 8 }, duration = 1, draw = function() end, audio = tone }
    assert.are.equal(RATE, drawn.audio:length(RATE))
  end)

  it('fills from a Lua function in blocks, resampled and spread to every channel', function()
    local calls = 0
    local a = vs.audio{ duration = 1, rate = 24000, channels = 1, fill = function(buf, n, t0, first)
      calls = calls + 1
      for i = 0, n - 1 do buf[i] = math.sin(2 * math.pi * 500 * (first + i) / 24000) * 0.5 end
    end }
    assert.are.equal(1, a.duration)
    assert.are.equal(24000, a.rate)
    assert.are.equal(RATE, a:length(RATE))
    local s = a:samples(1000, 2)
    assert.are.equal(s[1], s[2]) -- mono on both channels
    assert_near(s[1], sine(500, 0.5, 1000), 2e-3, 'resampled')
    assert.is_true(calls > 0)
  end)

  it('raises a fill function error with its line, and refuses bad arguments', function()
    local bad = vs.audio{ duration = 1, fill = function() error('no samples today') end }
    local ok, err = pcall(bad.samples, bad, 0, 10)
    assert.is_false(ok)
    assert.matches('no samples today', err)
    assert.matches('audio_spec.lua', err)
    assert.has_error(function() vs.tone{ freq = 'x' } end)
    assert.has_error(function() black(1):with_audio(42) end, 'vstudio: with_audio: expected a sound (vs.audio, vs.tone, v.audio), got number')
    assert.has_error(function() vs.mix{} end)
  end)
end)

describe('sound from files', function()
  local dir
  setup(function() dir = helper.tmpdir() end)
  teardown(helper.cleanup)

  it('reads a file and a video with sound, and names a file without sound or missing', function()
    local wav, mute = dir .. '/tone.wav', dir .. '/mute.mp4'
    local _, _, rc = helper.sh(('ffmpeg -v error -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=1" ' ..
                                '-c:a pcm_f32le %s'):format(helper.q(wav)))
    assert.are.equal(0, rc)
    _, _, rc = helper.sh(('ffmpeg -v error -f lavfi -i testsrc=size=64x48:rate=10:duration=1 -pix_fmt yuv420p %s')
                         :format(helper.q(mute)))
    assert.are.equal(0, rc)
    local a = vs.audio(wav)
    assert.are.equal(48000, a.rate)
    assert.are.equal(1, a.channels)
    assert_near(a.duration, 1, 1e-3, 'duration')
    assert.are.equal(RATE, a:length(RATE))
    -- ffmpeg's sine source has amplitude 1/8
    assert_near(left(a, 100, 1)[1], sine(1000, 0.125, 100), 1e-4, 'file sample')
    assert.is_nil(vs.video(mute).audio)
    assert.has_error(function() vs.audio(mute) end, 'vstudio: audio: ' .. mute .. ': has no audio stream')
    local ok, err = pcall(vs.audio, dir .. '/missing.wav')
    assert.is_false(ok)
    assert.matches('missing.wav', err, 1, true)
  end)
end)

describe('sound in acts', function()
  it('plays the act soundtrack and each scene sound from its first frame', function()
    local beep = vs.tone{ freq = 1000, duration = 5, volume = 0.5 }
    local low = vs.tone{ freq = 500, duration = 5, volume = 0.25 }
    local act = vs.act{ size = { 16, 16 }, fps = 30, audio = beep, render = function() end, scenes = {
      vs.scene{ duration = 1, apply = function() end },
      vs.scene{ duration = 1, apply = function() end, audio = low },
    } }
    assert.are.equal(2 * RATE, act.audio:length(RATE))
    assert_near(left(act.audio, 100, 1)[1], sine(1000, 0.5, 100), 1e-6, 'first scene: soundtrack only')
    assert_near(left(act.audio, RATE + 100, 1)[1], sine(1000, 0.5, RATE + 100) + sine(500, 0.25, 100), 1e-5,
                'second scene: both')
    assert.is_nil(vs.act{ size = { 16, 16 }, render = function() end,
                          scenes = { vs.scene{ duration = 1, apply = function() end } } }.audio)
  end)
end)
