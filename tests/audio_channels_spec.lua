-- audio_channels_spec.lua: the output's sound has the clip's sound's channel count (a mono tone
-- stays mono, as ffmpeg keeps a mono source mono), unless --audio-channels / audio_channels
-- says otherwise; a mix takes its widest part's. ffprobe counts the channels and ffmpeg decodes
-- them, each at the file's own count (its upmix of mono would scale it), to compare.
local ffi = require 'ffi'
local h = require 'helper'
local q = h.q

local RATE = 48000

local function sine(freq, amp, j)
  return amp * math.sin(2 * math.pi * ((j * freq / RATE) % 1))
end

-- ffmpeg's decode of path's first audio stream at its own channels: rows[c][i], the count.
local function channels_of(path)
  local ch = h.ffprobe_stream(path, 'a:0').channels
  local data, err, rc = h.sh('ffmpeg -v error -i ' .. q(path) .. ' -map 0:a:0 -f f32le -ar 48000 -')
  assert(rc == 0, err)
  local n = #data / (4 * ch)
  local buf = ffi.new('float[?]', n * ch)
  ffi.copy(buf, data, #data)
  local rows = {}
  for c = 0, ch - 1 do
    local r = {}
    for i = 0, n - 1 do r[i] = buf[i * ch + c] end
    rows[c + 1] = r
  end
  return rows, n
end

local rising = h.rising

local function rms(xs, from, to)
  local s = 0
  for i = from, to - 1 do s = s + xs[i] ^ 2 end
  return math.sqrt(s / (to - from))
end

local function ffmpeg(args)
  local _, err, rc = h.sh('ffmpeg -v error -y ' .. args)
  assert(rc == 0, err)
end

describe('the output sound\'s channels', function()
  local dir
  local n_scripts = 0
  setup(function()
    dir = h.tmpdir()
    -- L and R differ: 300 Hz on the left, 500 Hz on the right
    ffmpeg('-f lavfi -i "aevalsrc=0.3*sin(2*PI*300*t)|0.2*sin(2*PI*500*t):s=48000:d=1" -c:a flac ' ..
           q(dir .. '/stereo.flac'))
    -- 5.1, each channel its own sine (the LFE's low: AAC codes it band-limited)
    ffmpeg('-f lavfi -i "aevalsrc=0.1*sin(2*PI*200*t)|0.1*sin(2*PI*300*t)|0.1*sin(2*PI*400*t)|' ..
           '0.1*sin(2*PI*100*t)|0.1*sin(2*PI*500*t)|0.1*sin(2*PI*600*t):s=48000:d=1:c=5.1" -c:a flac ' ..
           q(dir .. '/six.flac'))
  end)
  teardown(h.cleanup)

  -- Renders a script returning body's clip with options; returns the output and stderr.
  local function render(body, out, options)
    n_scripts = n_scripts + 1
    local script = ('%s/c%d.lua'):format(dir, n_scripts)
    h.write_file(script, "local vs = require 'vstudio'\n" .. body .. '\n')
    out = dir .. '/' .. out
    local _, err, rc = h.vstudio('run ' .. q(script) .. ' -o ' .. q(out) .. ' ' .. (options or ''))
    assert.are.equal(0, rc, err)
    return out, err
  end

  -- path's sound is TONE's, mono and exact (FLAC)
  local function assert_mono_tone(path)
    local rows, n = channels_of(path)
    assert.are.equal(1, #rows)
    assert.are.equal(RATE, n)
    for j = 0, n - 1, 7 do
      assert.is_true(math.abs(rows[1][j] - sine(1000, 0.5, j)) < 2e-4, 'sample ' .. j)
    end
  end

  local TONE = [[
return vs.color{ 0, 0, 0, size = { 32, 24 }, duration = 1 }:with_audio(vs.tone{ freq = 1000, duration = 1, volume = 0.5 })]]

  it('keeps a vs.tone mono: AAC in MP4, Opus in WebM, exact in FLAC', function()
    local mp4, err = render(TONE, 'tone.mp4', '--preset ultrafast')
    assert.truthy(err:find('at 48000 Hz, 1 channel', 1, true), err)
    local a = h.ffprobe_stream(mp4, 'a:0')
    assert.are.equal('aac', a.codec_name)
    assert.are.equal(1, a.channels)
    local rows, n = channels_of(mp4)
    assert.is_true(math.abs(n - RATE) < 1100, 'length ' .. n)
    -- the tone through AAC: its frequency and its level
    assert.is_true(math.abs(rising(rows[1], 2048, 2048 + RATE / 2) - 500) <= 3)
    assert.is_true(math.abs(rms(rows[1], 4096, 40000) - 0.5 / math.sqrt(2)) < 0.02)
    local webm = render(TONE, 'tone.webm', '--preset ultrafast')
    a = h.ffprobe_stream(webm, 'a:0')
    assert.are.equal('opus', a.codec_name)
    assert.are.equal(1, a.channels)
    assert_mono_tone(render(TONE, 'tone.mkv', '--audio-codec flac'))
  end)

  it('gives a mix its widest part\'s channels: a mono tone with a stereo file is stereo, L and R apart', function()
    local out = render(([[
local m = vs.mix{ vs.tone{ freq = 1000, duration = 1, volume = 0.25 }, vs.audio('%s') }
assert(m.channels == 2, m.channels)
return vs.color{ 0, 0, 0, size = { 32, 24 }, duration = 1 }:with_audio(m)]]):format(dir .. '/stereo.flac'),
      'mix.mkv', '--audio-codec flac')
    local rows, n = channels_of(out)
    assert.are.equal(2, #rows)
    assert.are.equal(RATE, n)
    -- the tone on both channels, and each channel its own side of the file
    for j = 0, n - 1, 5 do
      local tone = sine(1000, 0.25, j)
      assert.is_true(math.abs(rows[1][j] - tone - sine(300, 0.3, j)) < 2e-4, 'left ' .. j)
      assert.is_true(math.abs(rows[2][j] - tone - sine(500, 0.2, j)) < 2e-4, 'right ' .. j)
    end
  end)

  it('takes --audio-channels N: the mono tone on both of 2 channels; 0 and 9 are refused', function()
    local out = render(TONE, 'two.mkv', '--audio-codec flac --audio-channels 2')
    local rows, n = channels_of(out)
    assert.are.equal(2, #rows)
    for j = 0, n - 1, 7 do
      local want = sine(1000, 0.5, j)
      assert.is_true(math.abs(rows[1][j] - want) < 2e-4 and math.abs(rows[2][j] - want) < 2e-4, 'sample ' .. j)
    end
    local script = dir .. '/bad.lua'
    h.write_file(script, "local vs = require 'vstudio'\n" .. TONE .. '\n')
    for _, bad in ipairs{ '0', '9' } do
      local _, err, rc = h.vstudio('run ' .. q(script) .. ' -o ' .. q(dir .. '/bad.mp4') .. ' --audio-channels ' .. bad)
      assert.are.equal(2, rc, err)
      assert.truthy(err:find('--audio-channels', 1, true), err)
      assert.is_false(h.exists(dir .. '/bad.mp4'))
    end
  end)

  it('keeps a 5.1 source\'s 6 channels, each in its place, into MKV and MP4', function()
    local body = ([[
return vs.color{ 0, 0, 0, size = { 32, 24 }, duration = 1 }:with_audio(vs.audio('%s'))]]):format(dir .. '/six.flac')
    local mkv = render(body, 'six.mkv', '--audio-codec flac')
    local src = channels_of(dir .. '/six.flac')
    local rows, n = channels_of(mkv)
    assert.are.equal(6, #rows)
    assert.are.equal(RATE, n)
    for c = 1, 6 do
      for j = 0, n - 1, 11 do assert.is_true(math.abs(rows[c][j] - src[c][j]) < 1e-4, c .. ':' .. j) end
    end
    local mp4 = render(body, 'six.mp4', '--preset ultrafast')
    local a = h.ffprobe_stream(mp4, 'a:0')
    assert.are.equal('aac', a.codec_name)
    assert.are.equal(6, a.channels)
    rows = channels_of(mp4)
    for c, freq in ipairs{ 200, 300, 400, 100, 500, 600 } do -- half a second of each
      local crossings = rising(rows[c], 4096, 4096 + RATE / 2)
      assert.is_true(math.abs(crossings - freq / 2) <= 2, c .. ': ' .. crossings)
    end
  end)

  it('lays a stereo part on the front left and right of a 5.1 mix, the rest silent', function()
    local out = render(([[
return vs.color{ 0, 0, 0, size = { 32, 24 }, duration = 1 }:with_audio(vs.mix{ vs.audio('%s'), vs.audio('%s') })]])
      :format(dir .. '/six.flac', dir .. '/stereo.flac'), 'six-mix.mkv', '--audio-codec flac')
    local src = channels_of(dir .. '/six.flac')
    local rows, n = channels_of(out)
    assert.are.equal(6, #rows)
    for j = 0, n - 1, 11 do
      assert.is_true(math.abs(rows[1][j] - src[1][j] - sine(300, 0.3, j)) < 2e-4, 'FL ' .. j)
      assert.is_true(math.abs(rows[2][j] - src[2][j] - sine(500, 0.2, j)) < 2e-4, 'FR ' .. j)
      for c = 3, 6 do assert.is_true(math.abs(rows[c][j] - src[c][j]) < 1e-4, c .. ':' .. j) end
    end
  end)

  it('joins mono --segment parts into a mono file', function()
    local body = TONE
    local parts = {}
    for k = 1, 2 do
      parts[k] = render(body, 'seg-' .. k .. '.mkv', '--segment ' .. k .. '/2')
      assert.are.equal(1, h.ffprobe_stream(parts[k], 'a:0').channels)
    end
    local joined = dir .. '/seg-joined.mkv'
    local _, err, rc = h.vstudio('concat --audio-codec flac ' .. q(parts[1]) .. ' ' .. q(parts[2]) .. ' -o ' .. q(joined))
    assert.are.equal(0, rc, err)
    assert_mono_tone(joined)
  end)
end)

-- 3 and 4 channels are 3.0 (FL FR FC) and quad (FL FR BL BR) everywhere: libav's defaults
-- for the counts (2.1, 4.0) would fold a centre or the back pair into other channels, and Opus
-- refuses them. Each source channel carries its own tone; each output channel must carry it.
describe('3 and 4 channel sound', function()
  local dir
  local n_scripts = 0
  local FREQS = { ['3.0'] = { 200, 300, 400 }, quad = { 200, 300, 400, 500 } }
  -- ffprobe's name of path's layout, as text (ffprobe_stream would read '3.0' as a number)
  local function layout_of(path)
    return (h.sh('ffprobe -v error -select_streams a:0 -show_entries stream=channel_layout -of csv=p=0 ' .. q(path))
      :gsub('%s+$', ''))
  end
  setup(function()
    dir = h.tmpdir()
    for layout, freqs in pairs(FREQS) do
      local exprs = {}
      for c, f in ipairs(freqs) do exprs[c] = ('0.2*sin(2*PI*%d*t)'):format(f) end
      ffmpeg('-f lavfi -i "aevalsrc=' .. table.concat(exprs, '|') .. ':s=48000:d=1:c=' .. layout .. '" -c:a flac ' ..
             q(dir .. '/' .. layout .. '.flac'))
      assert.are.equal(layout, layout_of(dir .. '/' .. layout .. '.flac'))
    end
  end)
  teardown(h.cleanup)

  local function render(layout, out, options)
    n_scripts = n_scripts + 1
    local script = ('%s/s%d.lua'):format(dir, n_scripts)
    h.write_file(script, ("local vs = require 'vstudio'\n" ..
      "return vs.color{ 0, 0, 0, size = { 32, 24 }, duration = 1 }:with_audio(vs.audio('%s'))\n")
      :format(dir .. '/' .. layout .. '.flac'))
    out = dir .. '/' .. out
    local _, err, rc = h.vstudio('run ' .. q(script) .. ' -o ' .. q(out) .. ' ' .. (options or ''))
    return out, err, rc
  end

  -- out has layout's channels, each the source's tone at its level, none folded into another
  local function assert_tones(out, layout, codec)
    local a = h.ffprobe_stream(out, 'a:0')
    assert.are.equal(codec, a.codec_name)
    assert.are.equal(#FREQS[layout], a.channels)
    assert.are.equal(layout, layout_of(out))
    local rows = channels_of(out)
    for c, freq in ipairs(FREQS[layout]) do -- half a second of each
      local crossings = rising(rows[c], 4096, 4096 + RATE / 2)
      assert.is_true(math.abs(crossings - freq / 2) <= 2, layout .. ' ' .. c .. ': ' .. crossings)
      local level = rms(rows[c], 4096, 40000)
      assert.is_true(math.abs(level - 0.2 / math.sqrt(2)) < 0.01, layout .. ' ' .. c .. ': level ' .. level)
    end
  end

  for _, layout in ipairs{ '3.0', 'quad' } do
    it('keeps a ' .. layout .. ' source channel by channel into MP4 (AAC), MKV (Opus) and FLAC', function()
      local out, err, rc = render(layout, layout .. '.mp4', '--preset ultrafast')
      assert.are.equal(0, rc, err)
      assert_tones(out, layout, 'aac')
      out, err, rc = render(layout, layout .. '.mkv', '--preset ultrafast')
      assert.are.equal(0, rc, err)
      assert_tones(out, layout, 'opus')
      out, err, rc = render(layout, layout .. '-out.flac')
      assert.are.equal(0, rc, err)
      assert_tones(out, layout, 'flac')
      -- exact through FLAC: the resampler maps the channels one to one
      local src, rows = channels_of(dir .. '/' .. layout .. '.flac'), channels_of(out)
      for c = 1, #FREQS[layout] do
        for j = 0, RATE - 1, 13 do assert.is_true(math.abs(rows[c][j] - src[c][j]) < 1e-4, c .. ':' .. j) end
      end
    end)
  end

  it('refuses 3 channels into MP3, naming the file, the codec and what it takes', function()
    local out, err, rc = render('3.0', 'three.mp3')
    assert.are_not.equal(0, rc)
    assert.truthy(err:find('three.mp3: codec libmp3lame cannot encode 3 channels (it takes: mono stereo', 1, true), err)
    assert.is_false(h.exists(out))
    out, err, rc = render('3.0', 'two.mp3', '--audio-channels 2')
    assert.are.equal(0, rc, err)
    assert.are.equal(2, h.ffprobe_stream(out, 'a:0').channels)
  end)

  it('extracts a 3.0 video\'s sound as 3.0', function()
    local video = render('3.0', 'v3.mkv', '--audio-codec flac')
    local out = dir .. '/v3.wav'
    local _, err, rc = h.vstudio('extract ' .. q(video) .. ' --audio ' .. q(out))
    assert.are.equal(0, rc, err)
    local a = h.ffprobe_stream(out, 'a:0')
    assert.are.equal(3, a.channels)
    assert.are.equal('3.0', layout_of(out))
    local src, rows = channels_of(dir .. '/3.0.flac'), channels_of(out)
    for c = 1, 3 do
      for j = 0, RATE - 1, 13 do assert.is_true(math.abs(rows[c][j] - src[c][j]) < 1e-4, c .. ':' .. j) end
    end
  end)
end)

describe('convert --audio channels', function()
  local dir
  setup(function()
    dir = h.tmpdir()
    h.sh('mkdir -p ' .. q(dir .. '/shot'))
    ffmpeg('-f lavfi -i testsrc=size=64x48:rate=30 -frames:v 30 ' .. q(dir .. '/shot/f%04d.png'))
    ffmpeg('-f lavfi -i sine=frequency=440:duration=1:sample_rate=48000 -af volume=4 ' .. q(dir .. '/mono.wav'))
    -- left a 440 Hz sine, right silent: a downmix halves it
    ffmpeg('-f lavfi -i "aevalsrc=0.5*sin(2*PI*440*t)|0:s=48000:d=1" ' .. q(dir .. '/stereo.wav'))
  end)
  teardown(h.cleanup)

  local function convert(sound, out, options)
    out = dir .. '/' .. out
    local _, err, rc = h.vstudio('convert ' .. q(dir .. '/shot') .. ' -o ' .. q(out) .. ' --audio ' .. q(dir .. '/' .. sound) ..
                                 ' ' .. (options or ''))
    assert.are.equal(0, rc, err)
    return out
  end

  it('keeps the soundtrack\'s own channels, or --audio-channels N', function()
    local mono = convert('mono.wav', 'mono.mp4')
    assert.are.equal(1, h.ffprobe_stream(mono, 'a:0').channels)
    local rows = channels_of(mono)
    assert.is_true(math.abs(rms(rows[1], 4096, 40000) - 0.5 / math.sqrt(2)) < 0.02)
    local stereo = convert('stereo.wav', 'stereo.mp4')
    assert.are.equal(2, h.ffprobe_stream(stereo, 'a:0').channels)
    rows = channels_of(stereo)
    assert.is_true(rms(rows[1], 4096, 40000) > 0.3 and rms(rows[2], 4096, 40000) < 0.01)
    local down = convert('stereo.wav', 'down.mp4', '--audio-channels 1')
    assert.are.equal(1, h.ffprobe_stream(down, 'a:0').channels)
    -- libswresample's downmix, as ffmpeg -ac 1 makes it from the same file
    local ref = h.sh('ffmpeg -v error -i ' .. q(dir .. '/stereo.wav') .. ' -ac 1 -f f32le -')
    local buf = ffi.new('float[?]', #ref / 4)
    ffi.copy(buf, ref, #ref)
    local want = rms(buf, 4096, 40000)
    rows = channels_of(down)
    assert.is_true(want > 0.1 and math.abs(rms(rows[1], 4096, 40000) - want) < 0.02 * want / 0.35, want)
    local _, err, rc = h.vstudio('convert ' .. q(dir .. '/shot') .. ' -o ' .. q(dir .. '/x.mp4') .. ' --audio ' ..
                                 q(dir .. '/mono.wav') .. ' --audio-channels 9')
    assert.are.equal(2, rc, err)
    assert.truthy(err:find('--audio-channels', 1, true), err)
  end)

  it('resumes by --audio-channels: the same count is up to date, another converts again', function()
    local out = dir .. '/resume.mp4'
    local function run(options)
      local _, err, rc = h.vstudio('convert ' .. q(dir .. '/shot') .. ' -o ' .. q(out) .. ' --audio ' ..
                                   q(dir .. '/stereo.wav') .. ' ' .. options)
      assert.are.equal(0, rc, err)
      return err
    end
    run('')
    assert.are.equal(2, h.ffprobe_stream(out, 'a:0').channels)
    assert.truthy(run(''):find('0 converted, 1 up to date', 1, true))
    local err = run('--audio-channels 1')
    assert.truthy(err:find('1 converted, 0 up to date', 1, true), err)
    assert.are.equal(1, h.ffprobe_stream(out, 'a:0').channels)
    err = run('--audio-channels 1')
    assert.truthy(err:find('0 converted, 1 up to date', 1, true), err)
    -- asking for the file's own count by number is another setting, converted once more
    err = run('--audio-channels 2')
    assert.truthy(err:find('1 converted, 0 up to date', 1, true), err)
    assert.are.equal(2, h.ffprobe_stream(out, 'a:0').channels)
  end)
end)
