-- `vstudio run` writing sound, with ffmpeg as the oracle: the output's sound decoded to f32le
-- PCM and compared with what the script's sound must be, to the sample where the codec is
-- lossless (flac in mkv), by frequency and level through AAC, and against the picture (a
-- flash and a beep at the same instant stay within one frame).
local ffi = require 'ffi'
local h = require 'helper'

local RATE = 48000

local function sine(freq, amp, j)
  return amp * math.sin(2 * math.pi * ((j * freq / RATE) % 1))
end

describe('run with sound', function()
  local dir
  setup(function() dir = h.tmpdir() end)
  teardown(h.cleanup)

  local n_scripts = 0
  -- Writes a script that returns `body`'s clip and renders it with `options`; returns the output.
  local function render(body, options, out)
    n_scripts = n_scripts + 1
    local script = ('%s/s%d.lua'):format(dir, n_scripts)
    out = out or ('%s/s%d.mkv'):format(dir, n_scripts)
    h.write_file(script, "local vs = require 'vstudio'\n" .. body .. '\n')
    local _, err, rc = h.vstudio('run ' .. h.q(script) .. ' -o ' .. h.q(out) .. ' ' .. (options or ''))
    assert.are.equal(0, rc, err)
    return out, err
  end

  -- The first channel of a file's sound as a float array (ffmpeg decodes at 48 kHz, with the
  -- file's own channels: its upmix of mono would scale it), and its length.
  local function pcm(path)
    local ch = h.ffprobe_stream(path, 'a:0').channels
    local data, err, rc = h.sh('ffmpeg -v error -i ' .. h.q(path) .. ' -f f32le -ar 48000 -')
    assert.are.equal(0, rc, err)
    local n = #data / (4 * ch)
    local buf = ffi.new('float[?]', n * ch)
    ffi.copy(buf, data, #data)
    local first = {}
    for i = 0, n - 1 do first[i] = buf[ch * i] end
    return first, n
  end

  local function streams(path)
    local out = h.sh('ffprobe -v error -show_entries stream=codec_type,codec_name -of csv=p=0 ' .. h.q(path))
    return out
  end

  local rising = h.rising

  it('writes trim and delay exactly to the sample, with silence where nothing sounds (flac)', function()
    local out = render([[
local tone = vs.tone{ freq = 1000, duration = 3, volume = 0.5 }
local c = vs.color{ 0, 0, 0, size = { 32, 24 }, fps = '30000/1001', duration = 2 }:with_audio(tone)
return c:trim(7 * 1001 / 30000, 40 * 1001 / 30000):delay(3 * 1001 / 30000) .. vs.color{ 0, 0, 0, size = { 32, 24 }, fps = '30000/1001', duration = 0.5 }
]], '--audio-codec flac')
    assert.truthy(streams(out):find('flac,audio', 1, true))
    local s, n = pcm(out)
    local function at(k) return math.floor(k * RATE * 1001 / 30000) end
    local frames = 33 + 3 + 15
    assert.are.equal(at(frames), n)
    local d, s0 = at(3), at(7)
    for j = 0, d - 1 do assert.are.equal(0, s[j], 'delay sample ' .. j) end
    for j = d, at(36) - 1, 7 do
      local want = sine(1000, 0.5, s0 + j - d)
      assert.is_true(math.abs(s[j] - want) < 2e-4, ('sample %d: %g, want %g'):format(j, s[j], want))
    end
    for j = at(36), n - 1 do assert.are.equal(0, s[j], 'silent part ' .. j) end
  end)

  it('writes a sound-only .m4a exact to the sample (edit list in samples, not milliseconds)', function()
    -- 1001 frames at 30000/1001 fps: 1601600 samples / 1000 is not whole, so a 1 ms edit list cuts some
    local out = render([[
return vs.color{ 0, 0, 0, size = { 16, 16 }, fps = '30000/1001', duration = 7 * 1001 / 30000 }
  :with_audio(vs.tone{ freq = 440, duration = 1 })
]], '', dir .. '/exact.m4a')
    -- the stream's length after the edit list (ffmpeg 5's decoder keeps AAC's tail padding)
    local a = h.ffprobe_stream(out, 'a:0')
    assert.are.equal(math.floor(7 * RATE * 1001 / 30000), a.duration_ts)
  end)

  it('re-times a scene\'s sound with the scene (speed, reverse, trim, loop), keeps it through ease', function()
    local out = render([[
local tone = vs.tone{ freq = 1000, duration = 2, volume = 0.5 }
local function scene(d) return vs.scene{ duration = d, audio = tone, apply = function(st, p) st.p = p end } end
return vs.act{ size = { 16, 16 }, fps = 30, state = function() return {} end,
  render = function(st, f) f:fill(0, 0, 0) end,
  scenes = { scene(1):speed(2), scene(1):reverse():ease('out_quad'), scene(1):trim(0.25, 0.75), scene(0.5):loop(2) } }
]], '--audio-codec flac')
    local s, n = pcm(out)
    assert.are.equal(RATE * 3, n)
    -- speed(2): 0.5 s of the tone at 2000 Hz (a crossing at either edge may fall outside)
    assert.is_true(math.abs(rising(s, 0, RATE / 2) - 1000) <= 1)
    -- reverse (eased picture, sound as reversed): 1 s at 1000 Hz, sounding throughout
    assert.is_true(math.abs(rising(s, RATE / 2, RATE * 3 / 2) - 1000) <= 1)
    -- trim and loop: sound in every part, no silent half second
    for _, range in ipairs { { RATE * 1.5, RATE * 2 }, { RATE * 2, RATE * 2.5 }, { RATE * 2.5, RATE * 3 } } do
      assert.is_true(rising(s, range[1], range[2]) > 0.9 * (range[2] - range[1]) / RATE * 1000, range[1])
    end
  end)

  it('sums overlay layers and clips the sum only when writing', function()
    local out = render([[
local bg = vs.color{ 0, 0, 0, size = { 32, 24 }, duration = 2 }:with_audio(vs.tone{ freq = 1000, duration = 2, volume = 0.3 })
local top = vs.color{ 9, 9, 9, size = { 8, 8 }, duration = 1 }:with_audio(vs.tone{ freq = 1500, duration = 1, volume = 0.2 })
local loud = vs.color{ 9, 9, 9, size = { 8, 8 }, duration = 0.5 }:with_audio(vs.tone{ freq = 1000, duration = 1, volume = 0.9 })
return vs.overlay{ bg, top:delay(0.5), loud:delay(1.5) }
]], '--audio-codec flac')
    local s, n = pcm(out)
    assert.are.equal(2 * RATE, n)
    for j = 0, RATE * 1.5 - 1, 11 do
      local want = sine(1000, 0.3, j) + (j >= 24000 and j < 72000 and sine(1500, 0.2, j - 24000) or 0)
      assert.is_true(math.abs(s[j] - want) < 2e-4, ('sample %d: %g, want %g'):format(j, s[j], want))
    end
    local top_level = 0
    for j = RATE * 1.5, n - 1 do top_level = math.max(top_level, math.abs(s[j])) end
    assert.is_true(top_level <= 1 and top_level > 0.99, 'clipped at 1: ' .. top_level)
  end)

  it('doubles the pitch with speed(2) and keeps it with keep_pitch (aac)', function()
    local body = [[
local c = vs.color{ 0, 0, 0, size = { 32, 24 }, duration = 4 }:with_audio(vs.tone{ freq = 440, duration = 4, volume = 0.5 })
return c:speed(2%s)
]]
    local fast = render(body:format(''), nil, dir .. '/fast.mp4')
    assert.truthy(streams(fast):find('aac,audio', 1, true))
    local s, n = pcm(fast)
    assert.is_true(math.abs(n - 2 * RATE) < 1100, 'length ' .. n) -- within one AAC frame
    local crossings = rising(s, 4800, 4800 + RATE)
    assert.is_true(math.abs(crossings - 880) <= 3, 'speed(2): ' .. crossings .. ' crossings a second')
    local kept = render(body:format(', { keep_pitch = true }'), nil, dir .. '/kept.mp4')
    s = pcm(kept)
    crossings = rising(s, 4800, 4800 + RATE)
    assert.is_true(math.abs(crossings - 440) <= 3, 'keep_pitch: ' .. crossings .. ' crossings a second')
  end)

  -- A 4 s source with a white flash on frames 45 and 46 (1.5 s) and a beep over the same 1/15 s;
  -- its picture and sound are checked where the flash and the beep come out.
  local function flash_source()
    local src = dir .. '/flash.mp4'
    if h.exists(src) then return src end
    local _, err, rc = h.sh(('ffmpeg -v error -f lavfi -i "color=c=black:s=64x48:r=30:d=4,' ..
      "drawbox=x=0:y=0:w=64:h=48:color=white:t=fill:enable='between(n,45,46)'\" " ..
      '-f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=4,' ..
      "volume=volume=0:enable='not(between(t,1.5,1.5666))'\" " ..
      '-c:v libx264 -pix_fmt yuv420p -c:a aac -b:a 128k %s'):format(h.q(src)))
    assert.are.equal(0, rc, err)
    return src
  end

  -- Seconds of the first bright frame and of the first loud sample of a render.
  local function flash_and_beep(path)
    local gray = h.sh('ffmpeg -v error -i ' .. h.q(path) .. ' -vf scale=8:6 -f rawvideo -pix_fmt gray -')
    local frame
    for k = 0, #gray / 48 - 1 do
      if gray:byte(k * 48 + 20) > 128 then frame = k break end
    end
    local s, n = pcm(path)
    local sample
    for j = 0, n - 1 do
      if math.abs(s[j]) > 0.05 then sample = j break end
    end
    assert.truthy(frame, 'no flash in ' .. path)
    assert.truthy(sample, 'no beep in ' .. path)
    return frame / 30, sample / RATE
  end

  for _, case in ipairs {
    { 'trim', "v:trim(0.5, 3.5)", 1.0 },
    { 'speed', "v:speed(2)", 0.7667 },
    { 'a sequence', "vs.color{ 0, 0, 0, size = { 64, 48 }, duration = 1 } .. v:trim(1)", 1.5 },
    { 'a crossfade', "vs.crossfade(vs.color{ 0, 0, 0, size = { 64, 48 }, duration = 2 }, v, 0.5)", 3.0 },
  } do
    it('keeps picture and sound within one frame through ' .. case[1], function()
      local src = flash_source()
      local out = render("local v = vs.video('" .. src .. "')\nreturn " .. case[2], nil,
                         dir .. '/sync-' .. case[1]:gsub(' ', '_') .. '.mp4')
      local ft, bt = flash_and_beep(out)
      assert.is_true(math.abs(ft - case[3]) < 0.04, ('flash at %.4f s, expected %.4f'):format(ft, case[3]))
      assert.is_true(math.abs(ft - bt) < 1 / 30, ('flash at %.4f s, beep at %.4f s'):format(ft, bt))
    end)
  end

  it('writes no audio stream for a clip without sound, a mute clip or --no-audio', function()
    local plain = render("return vs.color{ 0, 0, 0, size = { 32, 24 }, duration = 1 }", nil, dir .. '/plain.mp4')
    assert.are.equal('h264,video', (streams(plain):gsub('%s+$', '')))
    local muted, err = render("return vs.color{ 0, 0, 0, size = { 32, 24 }, duration = 1 }:with_audio(vs.tone{}):mute()",
                              nil, dir .. '/mute.mp4')
    assert.are.equal('h264,video', (streams(muted):gsub('%s+$', '')))
    assert.falsy(err:find('sound', 1, true))
    local off, err2 = render("return vs.color{ 0, 0, 0, size = { 32, 24 }, duration = 1 }:with_audio(vs.tone{})",
                             '--no-audio', dir .. '/off.mp4')
    assert.are.equal('h264,video', (streams(off):gsub('%s+$', '')))
    assert.truthy(err2:find('--no-audio', 1, true))
  end)

  it('says once that y4m carries no sound, and names the sound it writes', function()
    local script = dir .. '/y4m.lua'
    h.write_file(script, "local vs = require 'vstudio'\nreturn vs.color{ 0, 0, 0, size = { 32, 24 }, duration = 1 }:with_audio(vs.tone{})\n")
    local _, err, rc = h.vstudio('run ' .. h.q(script) .. ' -o - -o ' .. h.q(dir .. '/y.mp4') .. ' > /dev/null')
    assert.are.equal(0, rc, err)
    local _, notes = err:gsub('carries none', '')
    assert.are.equal(1, notes, err)
    assert.truthy(err:find('stdout carries none', 1, true), err)
    assert.truthy(err:find('sound: 48000 samples (1.00 s) at 48000 Hz, 1 channel, ', 1, true), err)
  end)

  it("tells what the sound's own thread cost: its share of the run's CPU", function()
    -- a fill that burns ~20 ms per 4096-sample block under a 32x24 picture: most of the run is the sound
    local script = dir .. '/busy.lua'
    h.write_file(script, [[
local vs = require 'vstudio'
local a = vs.audio{ duration = 2, fill = function(buf, n)
  local x = 0
  for i = 1, 2000000 do x = x + math.sin(i) end
  for i = 0, n - 1 do buf[i] = x * 1e-9 end
end }
return vs.color{ 0, 0, 0, size = { 32, 24 }, fps = 25, duration = 2 }:with_audio(a)
]])
    local _, err, rc = h.vstudio('run ' .. h.q(script) .. ' -o ' .. h.q(dir .. '/busy.mp4'))
    assert.are.equal(0, rc, err)
    local cpu, share = err:match("sound: [^\n]* ([%d.]+) s CPU %(([%d.]+)%% of the run's%)")
    assert.truthy(share, err)
    assert.is_true(tonumber(cpu) > 0.1, err)
    assert.is_true(tonumber(share) > 40 and tonumber(share) <= 100, err)
    -- a sound file alone is the whole run: no share to tell
    local _, err2, rc2 = h.vstudio('run ' .. h.q(script) .. ' -o ' .. h.q(dir .. '/busy.wav'))
    assert.are.equal(0, rc2, err2)
    assert.truthy(err2:find('sound: ', 1, true), err2)
    assert.falsy(err2:find('of the run', 1, true), err2)
  end)

  it('names its threads (vs-worker-N, vs-sound) for top -H, perf and gdb', function()
    local script = dir .. '/names.lua'
    h.write_file(script, string.format([[
local vs = require 'vstudio'
local function record(what)
  local f = io.open('/proc/thread-self/comm')
  local name = f:read('*l')
  f:close()
  f = io.open(%q .. '/' .. what, 'a')
  f:write(name, '\n')
  f:close()
end
local a = vs.audio{ duration = 1, fill = function() record('sound') end }
return vs.clip{ size = { 32, 24 }, fps = 25, duration = 1, audio = a, draw = function() record('picture') end }
]], dir))
    local _, err, rc = h.vstudio('run ' .. h.q(script) .. ' -q --workers 2 -o ' .. h.q(dir .. '/names.mp4'))
    assert.are.equal(0, rc, err)
    for name in h.read_file(dir .. '/sound'):gmatch('[^\n]+') do assert.are.equal('vs-sound', name) end
    local workers = {}
    for name in h.read_file(dir .. '/picture'):gmatch('[^\n]+') do
      assert.truthy(name:match('^vs%-worker%-%d$'), name)
      workers[name] = true
    end
    assert.truthy(next(workers))
  end)

  it('writes a segment as its exact sample range in flac, equal to the whole render there', function()
    local body = [[
local c = vs.color{ 0, 0, 0, size = { 32, 24 }, fps = 24, duration = 2 }
return c:with_audio(vs.tone{ freq = 700, duration = 2, volume = 0.5 }:fade_out(1.3))
]]
    local whole, n = pcm(render(body, '--audio-codec flac', dir .. '/whole.mkv'))
    assert.are.equal(2 * RATE, n)
    local part = render(body, '--segment 2/3', dir .. '/part2.mkv')
    assert.truthy(streams(part):find('flac,audio', 1, true))
    local s, m = pcm(part)
    local first, last = 16 * RATE / 24, 32 * RATE / 24 -- frames 16..31 of 48
    assert.are.equal(last - first, m)
    for j = 0, m - 1, 3 do assert.are.equal(whole[first + j], s[j], 'sample ' .. j) end
  end)

  it('writes the sound alone to a .wav beside a video, or by itself', function()
    local script = dir .. '/wav.lua'
    h.write_file(script, "local vs = require 'vstudio'\nreturn vs.color{ 0, 0, 0, size = { 32, 24 }, fps = 25, duration = 1 }" ..
                         ":with_audio(vs.tone{ freq = 1000, duration = 0.5, volume = 0.5 })\n")
    local _, err, rc = h.vstudio('run ' .. h.q(script) .. ' -o ' .. h.q(dir .. '/alone.wav'))
    assert.are.equal(0, rc, err)
    assert.truthy(err:find('-> ' .. dir .. '/alone.wav', 1, true), err)
    local s, n = pcm(dir .. '/alone.wav')
    assert.are.equal(RATE, n)
    assert.is_true(math.abs(s[100] - sine(1000, 0.5, 100)) < 1e-4)
    assert.are.equal(0, s[RATE - 1])
    _, err, rc = h.vstudio('run ' .. h.q(script) .. ' -o ' .. h.q(dir .. '/with.flac') .. ' -o ' .. h.q(dir .. '/with.mp4'))
    assert.are.equal(0, rc, err)
    assert.are.equal(RATE, select(2, pcm(dir .. '/with.flac')))
    assert.are.equal(25, h.ffprobe_frames(dir .. '/with.mp4'))
    h.write_file(script, "local vs = require 'vstudio'\nreturn vs.color{ 0, 0, 0, size = { 32, 24 }, duration = 1 }\n")
    _, err, rc = h.vstudio('run ' .. h.q(script) .. ' -o ' .. h.q(dir .. '/none.wav'))
    assert.are.equal(1, rc)
    assert.truthy(err:find(dir .. '/none.wav: the clip has no sound to write', 1, true), err)
    assert.is_false(h.exists(dir .. '/none.wav'))
  end)

  it('fails naming the file for a missing sound file, and the line for a failing fill', function()
    local script = dir .. '/missing.lua'
    h.write_file(script, "local vs = require 'vstudio'\nreturn vs.color{ 0, 0, 0, size = { 32, 24 }, duration = 1 }" ..
                         ":with_audio(vs.audio('" .. dir .. "/nothing.wav'))\n")
    local _, err, rc = h.vstudio('run ' .. h.q(script) .. ' -o ' .. h.q(dir .. '/m.mp4'))
    assert.are.equal(1, rc)
    assert.truthy(err:find(dir .. '/nothing.wav', 1, true), err)
    assert.is_false(h.exists(dir .. '/m.mp4'))
    script = dir .. '/fill.lua'
    h.write_file(script, "local vs = require 'vstudio'\nlocal a = vs.audio{ duration = 1, fill = function(buf, n, t0)\n" ..
                         "  if t0 > 0.5 then error('out of notes') end\nend }\n" ..
                         "return vs.color{ 0, 0, 0, size = { 32, 24 }, duration = 1 }:with_audio(a)\n")
    _, err, rc = h.vstudio('run ' .. h.q(script) .. ' -o ' .. h.q(dir .. '/f.mp4'))
    assert.are.equal(1, rc)
    assert.truthy(err:find('fill.lua:3: out of notes', 1, true), err)
    assert.truthy(err:find('vstudio: run: frame %d+: sound at [%d.]+ s: ' .. script:gsub('%p', '%%%0') .. ':3: out of notes'),
                  err)
    assert.is_false(h.exists(dir .. '/f.mp4'))
  end)
end)

describe('vs.write with sound', function()
  local dir
  setup(function() dir = h.tmpdir() end)
  teardown(h.cleanup)

  it('writes an audio = sound in step with the frames, and push_audio samples', function()
    local vs = require 'vstudio'
    local out = dir .. '/w.mkv'
    local w = vs.write(out, { fps = 25, audio = vs.tone{ freq = 1000, duration = 1, volume = 0.5 }, audio_codec = 'flac' })
    local f = vs.frame(32, 24):fill(0, 0, 0)
    for _ = 1, 10 do w:push(f) end
    w:close()
    assert.are.equal(1, h.ffprobe_stream(out, 'a:0').channels) -- the tone's own
    local data = h.sh('ffmpeg -v error -i ' .. h.q(out) .. ' -f f32le -ar 48000 -')
    assert.are.equal(10 * 1920 * 4, #data)
    local buf = ffi.new('float[?]', #data / 4)
    ffi.copy(buf, data, #data)
    assert.is_true(math.abs(buf[100] - sine(1000, 0.5, 100)) < 2e-4)
    local out2 = dir .. '/p.mkv'
    local w2 = vs.write(out2, { fps = 25, audio_rate = 48000, audio_channels = 1, audio_codec = 'flac' })
    w2:push(f)
    local samples = {}
    for i = 1, 1920 do samples[i] = 0.25 end
    w2:push_audio(samples)
    w2:close()
    data = h.sh('ffmpeg -v error -i ' .. h.q(out2) .. ' -f f32le -ac 1 -ar 48000 -')
    assert.are.equal(1920 * 4, #data)
    assert.has_error(function() vs.write(dir .. '/q.mp4', {}):push(f):push_audio({ 0 }) end,
                     'vstudio: write: ' .. dir .. '/q.mp4: push_audio needs an audio stream: give audio_rate = 48000 (or audio =) to vs.write')
  end)
end)

describe('vs.render with sound', function()
  local dir
  setup(function() dir = h.tmpdir() end)
  teardown(h.cleanup)

  local LUAJIT = (os.getenv('LD_PRELOAD') and 'LD_PRELOAD=' .. h.q(os.getenv('LD_PRELOAD')) .. ' ' or '') .. 'luajit'
  local LUA_PATH = os.getenv('PWD') .. '/lua/?.lua;' .. os.getenv('PWD') .. '/lua/?/init.lua;;'

  it('takes audio_codec, audio_rate and no_audio', function()
    local script = dir .. '/r.lua'
    h.write_file(script, ([[
local vs = require 'vstudio'
local c = vs.color{ 0, 0, 0, size = { 32, 24 }, duration = 1 }:with_audio(vs.tone{ freq = 500 })
vs.render(c, { out = '%s/r.mkv', audio_codec = 'flac', audio_rate = 24000, quiet = true })
vs.render(c, { out = '%s/n.mp4', no_audio = true, quiet = true })
vs.render(c, { out = '%s/m.mkv', audio_codec = 'flac', audio_channels = 2, quiet = true })
local ok, why = pcall(vs.render, c, { out = '%s/x.mkv', audio_chanels = 1 })
assert(not ok and why:find('unknown option audio_chanels', 1, true), why)
]]):format(dir, dir, dir, dir))
    local _, err, rc = h.sh('LUA_PATH=' .. h.q(LUA_PATH) .. ' ' .. LUAJIT .. ' ' .. h.q(script))
    assert.are.equal(0, rc, err)
    local out = h.sh('ffprobe -v error -show_entries stream=codec_name,sample_rate -of csv=p=0 ' .. h.q(dir .. '/r.mkv'))
    assert.truthy(out:find('flac,24000', 1, true), out)
    assert.are.equal(1, h.ffprobe_stream(dir .. '/r.mkv', 'a:0').channels) -- audio_rate alone: the tone's mono
    out = h.sh('ffprobe -v error -show_entries stream=codec_type -of csv=p=0 ' .. h.q(dir .. '/n.mp4'))
    assert.are.equal('video', (out:gsub('%s+$', '')))
    assert.are.equal(2, h.ffprobe_stream(dir .. '/m.mkv', 'a:0').channels)
    assert.is_false(h.exists(dir .. '/x.mkv'))
  end)

end)
