-- audio_io_spec.lua: the file side of sound. `vstudio probe` (table and
-- JSON), vs.probe and the probe cache report the first audio stream, with
-- ffprobe and ffmpeg's decode as the oracle; `vstudio extract --audio`
-- writes a video's sound; `vstudio convert --audio` lays a soundtrack under
-- a folder's frames.
local ffi = require 'ffi'
local helper = require 'helper'
local vs = require 'vstudio'
local C = require('vstudio.core').C
local q = helper.q

local dir

local function ffmpeg(args)
  local _, err, rc = helper.sh('ffmpeg -v error -y ' .. args)
  assert(rc == 0, 'ffmpeg failed: ' .. err)
end

-- ffmpeg's decode of path's sound as interleaved float: an FFI array and its sample count.
local function pcm(path, channels, rate)
  local out, err, rc = helper.sh('ffmpeg -v error -i ' .. q(path) .. ' -f f32le -ac ' .. (channels or 2) ..
    ' -ar ' .. (rate or 48000) .. ' -')
  assert(rc == 0, err)
  local n = #out / 4
  local buf = ffi.new('float[?]', n)
  ffi.copy(buf, out, #out)
  return buf, n / (channels or 2)
end

setup(function()
  dir = helper.tmpdir()
  -- 2 s of picture with 2 s of sound, AAC in MP4 and Opus in Matroska; and a silent one
  ffmpeg('-f lavfi -i testsrc=size=64x48:rate=25:duration=2 -f lavfi -i sine=frequency=440:duration=2:sample_rate=48000 ' ..
    '-c:v libx264 -pix_fmt yuv420p -c:a aac -ac 2 ' .. q(dir .. '/av.mp4'))
  ffmpeg('-i ' .. q(dir .. '/av.mp4') .. ' -c:v copy -c:a libopus ' .. q(dir .. '/av.mkv'))
  ffmpeg('-i ' .. q(dir .. '/av.mp4') .. ' -c:v copy -an ' .. q(dir .. '/mute.mp4'))
end)

teardown(helper.cleanup)

describe('probe with sound', function()
  it('shows the first audio stream in the table and in JSON, as ffprobe and the decoder see it', function()
    for _, name in ipairs{ 'av.mp4', 'av.mkv' } do
      local path = dir .. '/' .. name
      local want = helper.ffprobe_stream(path, 'a:0')
      local out, err, rc = helper.sh(q(helper.bin) .. ' probe --no-cache --json ' .. q(path))
      assert.are.equal(0, rc, err)
      local codec, rate, channels, duration, samples =
        out:match('"audio": {"codec": "(%w+)", "rate": (%d+), "channels": (%d+), "duration": ([%d.]+), "samples": (%d+)')
      assert.are.equal(want.codec_name, codec, out)
      assert.are.equal(want.sample_rate, tonumber(rate))
      assert.are.equal(want.channels, tonumber(channels))
      -- the exact count: what vs_audio_source decodes (priming and padding cut)
      local src = C.vs_audio_source_open(path, tonumber(rate), 2)
      assert.is_not_nil(src)
      assert.are.equal(tonumber(C.vs_audio_source_length(src)), tonumber(samples), name)
      C.vs_audio_source_close(src)
      assert.is_true(math.abs(tonumber(duration) - tonumber(samples) / tonumber(rate)) < 1e-5)
      local table_out = helper.sh(q(helper.bin) .. ' probe --no-cache ' .. q(path))
      assert.matches(codec .. ' ' .. rate .. ' Hz ' .. channels .. 'ch', table_out, 1, true)
      assert.matches('(' .. samples .. ' samples)', table_out, 1, true)
    end
    -- a 2.000 s AAC track is 96000 samples, not the 96000 + padding a naive decode gives
    assert.matches('"samples": 96000', helper.sh(q(helper.bin) .. ' probe --json ' .. q(dir .. '/av.mp4')), 1, true)
  end)

  it('says a silent file has no sound', function()
    local out = helper.sh(q(helper.bin) .. ' probe --json ' .. q(dir .. '/mute.mp4'))
    assert.matches('"audio": null', out, 1, true)
    assert.matches('  %-\n', helper.sh(q(helper.bin) .. ' probe ' .. q(dir .. '/mute.mp4')))
    assert.is_nil(vs.probe(dir .. '/mute.mp4').audio)
  end)

  it('gives vs.probe an audio table, cached or not', function()
    for _, cache in ipairs{ false, true, true } do
      local a = vs.probe(dir .. '/av.mp4', { cache = cache }).audio
      assert.are.same({ codec = 'aac', rate = 48000, channels = 2, duration = 2, samples = 96000, streams = 1 }, a)
    end
  end)

  it('probes the sound of audio-only files (vs_probe_audio), exact where the packets say it', function()
    local files = {}
    for _, f in ipairs{ { 'a.wav', '' }, { 'a.flac', '' }, { 'a.mp3', '' }, { 'a.mka', '-c:a libopus' },
                        { 'a.ogg', '-c:a libopus' } } do
      local path = dir .. '/' .. f[1]
      ffmpeg('-f lavfi -i sine=frequency=440:duration=1.5:sample_rate=44100 ' .. f[2] .. ' ' .. q(path))
      files[#files + 1] = path
    end
    for _, path in ipairs(files) do
      local info = ffi.new('vs_probe_info')
      assert.are.equal(0, C.vs_probe_audio(path, 1, info), ffi.string(C.vs_last_error()))
      local want = helper.ffprobe_stream(path, 'a:0')
      assert.are.equal(want.sample_rate, info.audio_rate, path)
      assert.are.equal(want.channels, info.audio_channels)
      assert.are.equal(0, info.width)
      assert.is_true(math.abs(info.audio_duration - 1.5) < 0.03, path .. ': ' .. info.audio_duration)
      if path:match('%.ogg$') then
        assert.are.equal(-1, tonumber(info.audio_samples)) -- Ogg's granules: not counted
      else
        local src = C.vs_audio_source_open(path, info.audio_rate, 1)
        assert.are.equal(tonumber(C.vs_audio_source_length(src)), tonumber(info.audio_samples), path)
        C.vs_audio_source_close(src)
      end
    end
    local info = ffi.new('vs_probe_info')
    assert.are.equal(0, C.vs_probe_audio(dir .. '/av.mp4', 1, info))
    assert.are.equal(64, info.width)
    assert.are.equal(96000, tonumber(info.audio_samples))
    assert.are.equal(-1, C.vs_probe_audio(dir .. '/mute.mp4', 1, info))
    assert.matches('mute.mp4: has no audio stream', ffi.string(C.vs_last_error()), 1, true)
  end)

  it('probes again a file whose cache row has the schema before sound', function()
    local c = helper.tmpdir() .. '/xdg'
    local db = c .. '/vstudio/probe.db'
    local path = dir .. '/av.mp4'
    helper.sh('mkdir -p ' .. q(c .. '/vstudio'))
    -- a v2 row for this very file (its stat), which knows nothing of sound
    local st = helper.sh('python3 -c "import os,sys; s=os.stat(sys.argv[1]); print(s.st_dev, s.st_ino, s.st_size, ' ..
      's.st_mtime_ns, s.st_ctime_ns)" ' .. q(path))
    local dev, ino, size, mtime, ctime = st:match('(%d+) (%d+) (%d+) (%d+) (%d+)')
    local abspath = helper.sh('realpath ' .. q(path)):gsub('\n', '')
    local _, err, rc = helper.sh('sqlite3 ' .. q(db) .. ' "create table probe(path TEXT PRIMARY KEY, dev INTEGER,' ..
      ' inode INTEGER, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, width INTEGER, height INTEGER,' ..
      ' fps_num INTEGER, fps_den INTEGER, frames INTEGER, duration REAL, bit_rate INTEGER, codec TEXT, pix_fmt TEXT,' ..
      ' container TEXT, vfr INTEGER, pts BLOB, dts BLOB, keys BLOB);' ..
      " insert into probe values('" .. abspath .. "', " .. table.concat({ dev, ino, size, mtime, ctime }, ', ') ..
      ", 64, 48, 25, 1, 50, 2.0, 1000, 'h264', 'yuv420p', 'mp4', 0, NULL, NULL, NULL); pragma user_version = 2;\"")
    assert.are.equal(0, rc, err)
    local out
    out, err, rc = helper.sh('XDG_CACHE_HOME=' .. q(c) .. ' ' .. q(helper.bin) .. ' probe --json ' .. q(path))
    assert.are.equal(0, rc, err)
    assert.matches('"audio": {"codec": "aac"', out, 1, true)
    assert.matches('audio_samples', (helper.sh('sqlite3 ' .. q(db) .. ' .schema')))
  end)
end)

-- Sound of path decoded by vstudio (vs_audio_source, checked against ffmpeg
-- in test_audio_source): an FFI array of stereo floats and the sample count.
local function decode(path)
  local src = C.vs_audio_source_open(path, 48000, 2)
  assert(src ~= nil, ffi.string(C.vs_last_error()))
  local n = tonumber(C.vs_audio_source_length(src))
  local buf = ffi.new('float[?]', 2 * n)
  assert(C.vs_audio_source_read(src, 0, n, buf) == 0)
  C.vs_audio_source_close(src)
  return buf, n
end

-- RMS of x (channel 0, samples a..b-1) against a sine of freq and amplitude
-- amp, shifted by lag samples.
local function tone_error(x, a, b, freq, amp, lag)
  local sum = 0
  for i = a, b - 1 do sum = sum + (x[2 * i] - amp * math.sin(2 * math.pi * freq * (i + (lag or 0)) / 48000)) ^ 2 end
  return math.sqrt(sum / (b - a))
end

local function peak(x, a, b)
  local m = 0
  for i = a, b - 1 do m = math.max(m, math.abs(x[2 * i])) end
  return m
end

describe('convert --audio', function()
  local frames, sounds
  setup(function()
    frames = dir .. '/shots'
    sounds = dir .. '/sounds'
    helper.sh('mkdir -p ' .. q(frames .. '/a') .. ' ' .. q(frames .. '/b') .. ' ' .. q(sounds))
    for _, shot in ipairs{ 'a', 'b' } do
      ffmpeg('-f lavfi -i testsrc=size=64x48:rate=30 -frames:v 30 ' .. q(frames .. '/' .. shot .. '/f%04d.png'))
    end
    ffmpeg('-f lavfi -i sine=frequency=440:duration=2:sample_rate=48000 -af volume=0.5 ' .. q(dir .. '/long.wav'))
    ffmpeg('-f lavfi -i sine=frequency=440:duration=0.5:sample_rate=48000 -af volume=0.5 ' .. q(dir .. '/short.wav'))
    ffmpeg('-i ' .. q(dir .. '/long.wav') .. ' ' .. q(sounds .. '/a.flac'))
  end)

  it('cuts a longer soundtrack at the picture\'s end, and says so', function()
    local out = dir .. '/cut.mp4'
    local _, err, rc = helper.sh(q(helper.bin) .. ' convert ' .. q(frames .. '/a') .. ' -o ' .. q(out) ..
      ' --audio ' .. q(dir .. '/long.wav'))
    assert.are.equal(0, rc, err)
    assert.matches('long.wav is 2.000 s, the picture 1.000 s: cut at the picture\'s end', err, 1, true)
    assert.are.equal('aac', helper.ffprobe_stream(out, 'a:0').codec_name)
    local x, n = decode(out)
    assert.are.equal(48000, n)
    -- the soundtrack's own first second, to the sample: lavfi's sine is 1/8 full scale, halved
    assert.is_true(tone_error(x, 2048, 46000, 440, 0.0625) < 0.01)
    local e = tone_error(x, 2048, 46000, 440, 0.0625)
    assert.is_true(e < tone_error(x, 2048, 46000, 440, 0.0625, 1) and e < tone_error(x, 2048, 46000, 440, 0.0625, -1))
  end)

  it('pads a shorter soundtrack with silence to the picture\'s end', function()
    local out = dir .. '/padded.mp4'
    local _, err, rc = helper.sh(q(helper.bin) .. ' convert ' .. q(frames .. '/a') .. ' -o ' .. q(out) ..
      ' --audio ' .. q(dir .. '/short.wav'))
    assert.are.equal(0, rc, err)
    assert.matches('padded with silence to its end', err, 1, true)
    local x, n = decode(out)
    assert.are.equal(48000, n)
    assert.is_true(peak(x, 2000, 22000) > 0.05)
    assert.is_true(peak(x, 26000, 48000) < 0.01)
  end)

  it('gives each folder of a batch the soundtrack named like it, and resumes', function()
    local outdir = dir .. '/videos/'
    local cmd = q(helper.bin) .. ' convert ' .. q(frames .. '/*') .. ' -o ' .. q(outdir) .. ' --audio ' .. q(sounds)
    local _, err, rc = helper.sh(cmd)
    assert.are.equal(0, rc, err)
    assert.matches('shots/b/?: note: no soundtrack named like it', err)
    assert.are.equal('aac', helper.ffprobe_stream(outdir .. 'a.mp4', 'a:0').codec_name)
    assert.is_nil(vs.probe(outdir .. 'b.mp4').audio)
    -- a rerun is up to date; another soundtrack is another video
    _, err, rc = helper.sh(cmd)
    assert.are.equal(0, rc, err)
    assert.matches('0 converted, 2 up to date', err, 1, true)
    ffmpeg('-i ' .. q(dir .. '/short.wav') .. ' ' .. q(sounds .. '/a.flac'))
    _, err, rc = helper.sh(cmd)
    assert.are.equal(0, rc, err)
    assert.matches('1 converted, 1 up to date', err, 1, true)
  end)

  it('takes the one soundtrack named like a folder; two with sound are an error naming both', function()
    -- sounds/a.old.wav is folder a.old's, sounds/a.srt a caption file, sounds/a.txt has no sound
    ffmpeg('-i ' .. q(dir .. '/short.wav') .. ' ' .. q(sounds .. '/a.old.wav'))
    helper.write_file(sounds .. '/a.srt', '1\n00:00:00,000 --> 00:00:01,000\nhello\n')
    helper.write_file(sounds .. '/a.txt', 'notes about shot a\n')
    local outdir = dir .. '/named/'
    local cmd = q(helper.bin) .. ' convert ' .. q(frames .. '/a') .. ' -o ' .. q(outdir) .. ' --audio ' .. q(sounds)
    local _, err, rc = helper.sh(cmd)
    assert.are.equal(0, rc, err)
    assert.are.equal('aac', helper.ffprobe_stream(outdir .. 'a.mp4', 'a:0').codec_name)
    local _, n = decode(outdir .. 'a.mp4')
    assert.are.equal(48000, n)
    -- the length warning names the soundtrack taken
    assert.truthy(err:find('sound ' .. sounds .. '/a.flac is', 1, true), err)
    assert.falsy(err:find('a.old.wav', 1, true), err)
    assert.falsy(err:find('a.srt', 1, true), err)
    -- a second soundtrack for a: which one was meant is not guessed
    ffmpeg('-i ' .. q(dir .. '/short.wav') .. ' ' .. q(sounds .. '/a.mp3'))
    os.remove(outdir .. 'a.mp4')
    _, err, rc = helper.sh(cmd)
    assert.are.equal(1, rc, err)
    assert.matches('2 soundtracks named like it: ' .. sounds .. '/a.flac and ' .. sounds .. '/a.mp3;', err, 1, true)
    assert.is_false(helper.exists(outdir .. 'a.mp4'))
    os.remove(sounds .. '/a.mp3')
    os.remove(sounds .. '/a.old.wav')
    os.remove(sounds .. '/a.srt')
    os.remove(sounds .. '/a.txt')
  end)

  it('does not take its own output for a soundtrack when writing beside them, so a rerun is up to date', function()
    local beside = dir .. '/beside'
    helper.sh('mkdir -p ' .. q(beside) .. ' && cp ' .. q(dir .. '/short.wav') .. ' ' .. q(beside .. '/a.wav'))
    local cmd = q(helper.bin) .. ' convert ' .. q(frames .. '/a') .. ' -o ' .. q(beside .. '/') .. ' --audio ' .. q(beside)
    local _, err, rc = helper.sh(cmd)
    assert.are.equal(0, rc, err)
    assert.are.equal('aac', helper.ffprobe_stream(beside .. '/a.mp4', 'a:0').codec_name)
    _, err, rc = helper.sh(cmd)
    assert.are.equal(0, rc, err)
    assert.matches('0 converted, 1 up to date', err, 1, true)
  end)

  it('refuses a soundtrack without sound, writing nothing', function()
    local out = dir .. '/none.mp4'
    local _, err, rc = helper.sh(q(helper.bin) .. ' convert ' .. q(frames .. '/a') .. ' -o ' .. q(out) ..
      ' --audio ' .. q(dir .. '/mute.mp4'))
    assert.are.equal(1, rc)
    assert.matches('mute.mp4: has no audio stream', err, 1, true)
    assert.is_false(helper.exists(out))
    _, err, rc = helper.sh(q(helper.bin) .. ' convert ' .. q(frames .. '/a') .. ' -o ' .. q(out) ..
      ' --audio ' .. q(dir .. '/nonesuch.wav'))
    assert.are.equal(1, rc)
    assert.matches('nonesuch.wav: no such file', err, 1, true)
  end)

  it('leaves an unreadable soundtrack out under --skip-bad, as a bad frame', function()
    local out = dir .. '/skipped.mp4'
    local _, err, rc = helper.sh(q(helper.bin) .. ' convert ' .. q(frames .. '/a') .. ' -o ' .. q(out) ..
      ' --skip-bad --audio ' .. q(dir .. '/mute.mp4'))
    assert.are.equal(0, rc, err)
    assert.matches('left out .*mute.mp4: has no audio stream', err)
    assert.is_nil(vs.probe(out).audio)
    assert.are.equal(30, vs.probe(out).frames)
  end)
end)

describe('extract --audio', function()
  it('writes the video\'s sound to a WAV, exactly the decoded samples', function()
    local out = dir .. '/sound.wav'
    local _, err, rc = helper.sh(q(helper.bin) .. ' extract ' .. q(dir .. '/av.mp4') .. ' --audio ' .. q(out))
    assert.are.equal(0, rc, err)
    assert.matches('wrote 96000 samples (2.000 s, 48000 Hz, 2 channels)', err, 1, true)
    local s = helper.ffprobe_stream(out, 'a:0')
    assert.are.equal('pcm_s16le', s.codec_name)
    -- ffmpeg's decode of the WAV against vstudio's of the MP4: 16-bit rounding apart
    local want, n = decode(dir .. '/av.mp4')
    local got, m = pcm(out)
    assert.are.equal(n, m)
    local worst = 0
    for i = 0, 2 * n - 1 do worst = math.max(worst, math.abs(got[i] - want[i])) end
    assert.is_true(worst <= 1 / 32768 + 1e-7, 'differs by ' .. worst)
  end)

  it('writes the sound of --frames A:B only, in the format of the extension', function()
    local out = dir .. '/part.flac'
    local _, err, rc = helper.sh(q(helper.bin) .. ' extract ' .. q(dir .. '/av.mp4') .. ' --frames 25:50 --audio ' ..
      q(out) .. ' ' .. q(dir .. '/frames'))
    assert.are.equal(0, rc, err)
    assert.are.equal('flac', helper.ffprobe_stream(out, 'a:0').codec_name)
    assert.is_true(helper.exists(dir .. '/frames/000025.png'))
    -- frames 25..49 at 25 fps: samples 48000..95999 (read after a seek: AAC's noise
    -- substitution draws other random noise there, about -80 dB; the tone is the same)
    local want = decode(dir .. '/av.mp4')
    local got, m = pcm(out)
    assert.are.equal(48000, m)
    local worst = 0
    for i = 0, 2 * m - 1 do worst = math.max(worst, math.abs(got[i] - want[2 * 48000 + i])) end
    assert.is_true(worst < 3e-4, 'differs by ' .. worst)
  end)

  it('refuses a video without sound, writing nothing', function()
    local out = dir .. '/none.wav'
    local _, err, rc = helper.sh(q(helper.bin) .. ' extract ' .. q(dir .. '/mute.mp4') .. ' --audio ' .. q(out))
    assert.are.equal(1, rc)
    assert.matches('mute.mp4: has no audio stream', err, 1, true)
    assert.is_false(helper.exists(out))
    _, err, rc = helper.sh(q(helper.bin) .. ' extract ' .. q(dir .. '/av.mp4') .. ' --audio ' .. q(dir .. '/x.txt'))
    assert.are.equal(1, rc)
    assert.matches('x.txt: cannot tell a sound format from the name', err, 1, true)
  end)
end)
