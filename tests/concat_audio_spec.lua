-- concat_audio_spec.lua: `vstudio concat` joins the parts' sound with no gap
-- or click. Four segments of a render (written through the encoder as
-- `vstudio run --segment K/4` writes them: FLAC sound, exactly
-- samples(end) - samples(first) each) joined against the whole render, both
-- decoded by ffmpeg: the same samples, and no silence at the joins.
local ffi = require 'ffi'
local helper = require 'helper'
local C = require('vstudio.core').C
local q = helper.q

local RATE, FPS, FRAMES, W, H = 48000, 30, 120, 64, 48

local function samples_at(k) return math.floor(k * RATE / FPS) end

local function tone(i, c) return 0.5 * math.sin(2 * math.pi * (c == 0 and 440 or 660) * i / RATE) end

-- Frames [first, end) of the clip with their sound, to path; seg: {index, count} or nil for the whole.
local function render(path, first, last, seg, audio_codec)
  local o = ffi.new('vs_encoder_options')
  C.vs_encoder_options_init(o)
  o.fps_num, o.fps_den, o.preset, o.quiet, o.gop = FPS, 1, 'ultrafast', 1, 1000
  o.audio_rate, o.audio_channels, o.audio_codec = RATE, 2, audio_codec
  if seg then
    o.segment_index, o.segment_count, o.segment_first, o.segment_end = seg[1], seg[2], first, last
    o.segment_total, o.segment_render = FRAMES, 12345
  end
  local enc = C.vs_encoder_open(path, W, H, o)
  assert(enc ~= nil, ffi.string(C.vs_last_error()))
  local f = C.vs_frame_new(W, H)
  local buf = ffi.new('float[?]', 2 * 2000)
  for k = first, last - 1 do
    C.vs_frame_fill(f, k % 256, 40, 200, 255)
    assert(C.vs_encoder_push(enc, f) == 0)
    local s0, s1 = samples_at(k), samples_at(k + 1)
    for i = s0, s1 - 1 do
      buf[(i - s0) * 2], buf[(i - s0) * 2 + 1] = tone(i, 0), tone(i, 1)
    end
    assert(C.vs_encoder_push_audio(enc, buf, s1 - s0) == 0, ffi.string(C.vs_last_error()))
  end
  C.vs_frame_free(f)
  assert(C.vs_encoder_close(enc) == 0, ffi.string(C.vs_last_error()))
end

-- ffmpeg's decode of path's sound: interleaved floats of ch channels (default 2) and the sample count.
local function pcm(path, ch)
  ch = ch or 2
  local out, err, rc = helper.sh('ffmpeg -v error -i ' .. q(path) .. ' -map 0:a:0 -f f32le -ac ' .. ch .. ' -ar 48000 -')
  assert(rc == 0, err)
  local buf = ffi.new('float[?]', #out / 4)
  ffi.copy(buf, out, #out)
  return buf, #out / (4 * ch)
end

-- RMS difference of channel 0 of a and b (n samples of ch channels, default 2) with b shifted
-- by lag, away from the ends (a lossy codec's first and last frames).
local function rms_between(a, b, n, lag, ch)
  ch = ch or 2
  local sum = 0
  for i = 4096, n - 4096 do sum = sum + (a[ch * i] - b[ch * (i + lag)]) ^ 2 end
  return math.sqrt(sum / (n - 8192))
end

-- The longest run of near-silent samples in channel 0 (of ch, default 2) between sample a and b.
local function longest_silence(x, a, b, ch)
  ch = ch or 2
  local best, run = 0, 0
  for i = a, b - 1 do
    if math.abs(x[ch * i]) < 1e-3 then run = run + 1 else run = 0 end
    if run > best then best = run end
  end
  return best
end

local dir
setup(function() dir = helper.tmpdir() end)
teardown(helper.cleanup)

describe('vstudio concat with sound', function()
  it('joins 4 segments into the sound of the single render, with no gap at the joins', function()
    local whole = dir .. '/whole.mp4'
    render(whole, 0, FRAMES)
    local parts = {}
    for k = 1, 4 do
      parts[k] = dir .. '/part-' .. k .. '.mp4'
      render(parts[k], (k - 1) * FRAMES / 4, k * FRAMES / 4, { k, 4 })
      local codec = helper.sh('ffprobe -v error -select_streams a:0 -show_entries stream=codec_name -of csv=p=0 ' ..
        q(parts[k]))
      assert.are.equal('flac\n', codec)
    end
    local joined = dir .. '/joined.mp4'
    local _, err, rc = helper.sh(q(helper.bin) .. ' concat ' .. q(dir) .. '/part-*.mp4 -o ' .. q(joined))
    assert.are.equal(0, rc, err)
    assert.matches('4 parts, 120 frames', err, 1, true)
    assert.matches('192000 samples of sound', err, 1, true)
    assert.are.equal('aac\n', helper.sh('ffprobe -v error -select_streams a:0 -show_entries stream=codec_name ' ..
      '-of csv=p=0 ' .. q(joined)))
    -- the same exact count as the single render (vstudio's probe: the edit list)
    local probe = helper.sh(q(helper.bin) .. ' probe --json ' .. q(joined) .. ' ' .. q(whole))
    local n1, n2 = probe:match('"samples": (%d+).-"samples": (%d+)')
    assert.are.equal('192000', n1)
    assert.are.equal(n1, n2)
    -- decoded by ffmpeg: the single render's sound, aligned to the sample (both
    -- are AAC encodings of the same samples: equal up to the codec's noise)
    local a, na = pcm(joined)
    local b, nb = pcm(whole)
    assert.are.equal(nb, na)
    local at0 = rms_between(a, b, na, 0)
    assert.is_true(at0 < 0.05 and at0 < rms_between(a, b, na, -1) and at0 < rms_between(a, b, na, 1), 'rms ' .. at0)
    -- a continuous tone: no run of silence at or near any join
    for k = 1, 3 do
      local at = samples_at(k * FRAMES / 4)
      assert.is_true(longest_silence(a, at - 2048, at + 2048) < 4, 'silence at join ' .. k)
    end
  end)

  it('joins the segments losslessly with --audio-codec flac: the single render, sample for sample', function()
    local whole = dir .. '/whole.mkv'
    render(whole, 0, FRAMES, nil, 'flac')
    local joined = dir .. '/joined.mkv'
    local _, err, rc = helper.sh(q(helper.bin) .. ' concat --audio-codec flac ' .. q(dir) .. '/part-*.mp4 -o ' ..
      q(joined))
    assert.are.equal(0, rc, err)
    local a, na = pcm(joined)
    local b, nb = pcm(whole)
    assert.are.equal(192000, nb)
    assert.are.equal(nb, na)
    local worst = 0
    for i = 0, 2 * na - 1 do worst = math.max(worst, math.abs(a[i] - b[i])) end
    assert.is_true(worst < 1e-6, 'differ by ' .. worst)
  end)

  -- `vstudio run --segment` parts of a 4 s tone joined by concat and by scripts/render-parallel
  -- equal its single render, with `ch` channels everywhere (decoded so: an upmix would scale
  -- both files and their difference); run takes `options`, concat `join_options`.
  local function joins_like_single(name, options, join_options, ch)
    local script = dir .. '/' .. name .. '.lua'
    helper.write_file(script, "local vs = require 'vstudio'\n" ..
      "local c = vs.clip{ size = {64, 48}, fps = 30, duration = 4, draw = function(f, t) f:fill(9, 9, 9) end }\n" ..
      "return c:with_audio(vs.tone{ freq = 440, duration = 4, volume = 0.5 })\n")
    local run = q(helper.bin) .. ' run ' .. q(script) .. ' -q --preset ultrafast ' .. options .. ' '
    local whole = dir .. '/' .. name .. '.mp4'
    local _, err, rc = helper.sh(run .. '-o ' .. q(whole))
    assert.are.equal(0, rc, err)
    for k = 1, 4 do
      local part = dir .. '/' .. name .. '-' .. k .. '.mp4'
      _, err, rc = helper.sh(run .. '--segment ' .. k .. '/4 -o ' .. q(part))
      assert.are.equal(0, rc, err)
      assert.are.equal(ch, helper.ffprobe_stream(part, 'a:0').channels, part)
    end
    local joined = dir .. '/' .. name .. '-joined.mp4'
    _, err, rc = helper.sh(q(helper.bin) .. ' concat ' .. join_options .. ' ' .. q(dir) .. '/' .. name .. '-?.mp4 -o ' ..
      q(joined))
    assert.are.equal(0, rc, err)
    local parallel = dir .. '/' .. name .. '-parallel.mp4'
    _, err, rc = helper.sh('VSTUDIO=' .. q(helper.bin) .. ' sh scripts/render-parallel -n 4 -j 2 ' .. q(script) ..
      ' -o ' .. q(parallel) .. ' --preset ultrafast ' .. options)
    assert.are.equal(0, rc, err)
    local b, nb = pcm(whole, ch)
    for _, out in ipairs{ whole, joined, parallel } do
      assert.are.equal(ch, helper.ffprobe_stream(out, 'a:0').channels, out)
    end
    for _, out in ipairs{ joined, parallel } do
      local a, na = pcm(out, ch)
      assert.are.equal(nb, na, out)
      local at0 = rms_between(a, b, na, 0, ch)
      assert.is_true(at0 < 0.01 and at0 < rms_between(a, b, na, -1, ch) / 4 and at0 < rms_between(a, b, na, 1, ch) / 4,
        out .. ': rms ' .. at0)
      for k = 1, 3 do
        assert.is_true(longest_silence(a, k * 48000 - 2048, k * 48000 + 2048, ch) < 4, out .. ': silence at join ' .. k)
      end
    end
  end

  it('joins `vstudio run --segment` renders and scripts/render-parallel\'s into the single render\'s sound', function()
    joins_like_single('tone', '--audio-channels 2', '', 2)
  end)

  it('joins the parts of a mono render into the single mono render', function()
    -- 128k: at the codec's default for mono (69 kb/s) AAC codes a pure sine coarsely (0.03 rms
    -- in either file), above the join's tolerance; the join is what is tested here
    joins_like_single('mono', '--audio-bitrate 128k', '--audio-bitrate 128k', 1)
  end)

  it('pads a part without a segment record to its picture, keeping sync at the join', function()
    -- a 1 s picture with 0.5 s of sound, then a 1 s picture with 1 s of sound
    local p1, p2 = dir .. '/short.mkv', dir .. '/full.mkv'
    local pic = '-f lavfi -i testsrc=size=64x48:rate=30:duration=1 -f lavfi -i sine=frequency=440:sample_rate=48000:duration='
    local enc = ' -c:v libx264 -preset ultrafast -g 1000 -pix_fmt yuv420p -c:a flac '
    for _, p in ipairs{ { p1, '0.5' }, { p2, '1' } } do
      local _, err, rc = helper.sh('ffmpeg -v error -y ' .. pic .. p[2] .. enc .. q(p[1]))
      assert(rc == 0, err)
    end
    local out = dir .. '/padded.mkv'
    local _, err, rc = helper.sh(q(helper.bin) .. ' concat ' .. q(p1) .. ' ' .. q(p2) .. ' -o ' .. q(out))
    assert.are.equal(0, rc, err)
    local x, n = pcm(out)
    assert.is_true(math.abs(n - 96000) <= 1, 'samples: ' .. n)
    -- silence from 0.5 s to 1 s, the second part's tone from 1 s on
    assert.is_true(longest_silence(x, 24500, 47900) > 23000)
    assert.is_true(longest_silence(x, 48100, 90000) < 4)
  end)

  it('refuses parts of which only some have sound', function()
    local mute = dir .. '/mute.mkv'
    helper.sh('ffmpeg -v error -y -f lavfi -i testsrc=size=64x48:rate=30:duration=1 -c:v libx264 -preset ultrafast ' ..
      '-g 1000 -pix_fmt yuv420p ' .. q(mute))
    local out = dir .. '/mixed.mkv'
    local _, err, rc = helper.sh(q(helper.bin) .. ' concat ' .. q(dir .. '/full.mkv') .. ' ' .. q(mute) .. ' -o ' .. q(out))
    assert.are.equal(1, rc)
    assert.matches('mute.mkv has no sound but .*full.mkv has', err)
    assert.is_false(helper.exists(out))
  end)
end)
