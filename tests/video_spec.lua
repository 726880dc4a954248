-- video_spec.lua: vs.video against ffmpeg as the oracle: sizes and rates,
-- decoded pixels (PSNR against ffmpeg's own RGBA decode), random access in
-- shuffled order equal to a sequential decode for B-frame and long-GOP
-- streams, iteration over a range, the clip protocol, bad paths.
local helper = require 'helper'
local vs = require 'vstudio'
local q = helper.q

local dir
local clips = {}
local SRC = '-f lavfi -i testsrc2=size=160x120:rate='

local function make(name, args)
  local path = dir .. '/' .. name
  local _, err, rc = helper.sh('ffmpeg -v error -y ' .. args .. ' ' .. q(path))
  assert(rc == 0, 'ffmpeg failed: ' .. err)
  clips[#clips + 1] = path
  return path
end

local function sequential(v)
  local seq, n = {}, 0
  for i, frame in v:iter() do
    assert.are.equal(n, i)
    seq[i] = helper.frame_bytes(frame)
    n = n + 1
  end
  return seq, n
end

local function shuffled(n, seed)
  local order = {}
  for i = 0, n - 1 do order[#order + 1] = i end
  math.randomseed(seed)
  for i = #order, 2, -1 do
    local j = math.random(i)
    order[i], order[j] = order[j], order[i]
  end
  return order
end

setup(function()
  dir = helper.tmpdir()
  make('h264_bf.mp4', SRC .. '30 -frames:v 48 -c:v libx264 -bf 3 -g 12 -pix_fmt yuv420p')
  make('hevc.mkv', SRC .. '30000/1001 -frames:v 40 -c:v libx265 -x265-params log-level=error:keyint=10:bframes=4')
  make('vp9.webm', SRC .. '30 -frames:v 30 -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -g 8')
  make('mpeg4.avi', SRC .. '25 -frames:v 30 -c:v mpeg4 -bf 2 -g 9')
  make('mpeg4.mkv', SRC .. '25 -frames:v 30 -c:v mpeg4 -bf 2 -g 9')
  -- an MP4 edit list that starts mid-GOP (frames before it are decoded but not shown)
  make('edit_list.mp4', '-ss 0.4 -i ' .. q(clips[1]) .. ' -c copy')
end)

teardown(helper.cleanup)

describe('vs.video', function()
  it('has the size, rate and frame count ffprobe reports', function()
    for _, path in ipairs(clips) do
      local v = vs.video(path)
      local s = helper.ffprobe_stream(path)
      assert.are.equal(s.width, v.width)
      assert.are.equal(s.height, v.height)
      assert.are.same({ s.width, s.height }, v.size)
      assert.are.equal(helper.ffprobe_frames(path), v.frames)
      local n, d = tostring(s.r_frame_rate):match('(%d+)/(%d+)')
      assert.are.equal(tonumber(n) / tonumber(d), v.fps)
      assert.is_near(v.frames / v.fps, v.duration, 1e-9)
    end
  end)

  it('decodes the pixels ffmpeg decodes (PSNR >= 40 dB)', function()
    for _, path in ipairs(clips) do
      local v = vs.video(path)
      local seq, n = sequential(v)
      local ref = helper.ffmpeg_rgba_frames(path, v.width, v.height)
      assert.are.equal(#ref, n, path)
      for i = 0, n - 1, 7 do
        assert.is_true(helper.psnr(ref[i + 1], seq[i]) >= 40, path .. ' frame ' .. i)
      end
    end
  end)

  it('gives frame i in any order equal to the i-th frame of a sequential decode', function()
    for _, path in ipairs(clips) do
      local seq, n = sequential(vs.video(path))
      local v = vs.video(path)
      for _, i in ipairs(shuffled(n, 7)) do
        assert.is_true(helper.frame_bytes(v:frame(i)) == seq[i], path .. ': frame ' .. i)
      end
      -- backwards, one by one: every request goes behind the decoder
      local w = vs.video(path)
      for i = n - 1, 0, -3 do
        assert.is_true(helper.frame_bytes(w:frame(i)) == seq[i], path .. ': frame ' .. i)
      end
    end
  end)

  it('gives frame-exact random access with a single-threaded decoder too', function()
    local path = clips[1]
    local seq, n = sequential(vs.video(path, { threads = 1 }))
    local v = vs.video(path, { threads = 1 })
    for _, i in ipairs(shuffled(n, 3)) do
      assert.is_true(helper.frame_bytes(v:frame(i)) == seq[i], 'frame ' .. i)
    end
  end)

  it('iterates a range in order', function()
    local path = clips[1]
    local seq = sequential(vs.video(path))
    local v = vs.video(path)
    local got = {}
    for i, frame in v:iter(17, 30) do got[#got + 1] = i assert.is_true(helper.frame_bytes(frame) == seq[i]) end
    assert.are.equal(13, #got)
    assert.are.equal(17, got[1])
    assert.are.equal(29, got[#got])
    assert.has_error(function() v:iter(5, 1000) end)
  end)

  it('returns a new frame from :frame that the GC owns', function()
    local v = vs.video(clips[1])
    local a, b = v:frame(3), v:frame(3)
    assert.are_not.equal(a, b)
    assert.are.equal(helper.frame_bytes(a), helper.frame_bytes(b))
    assert.are.equal(255, select(4, a:get(10, 10)))
  end)

  it('is a clip: render(k) equals frame(k), in order and out of order', function()
    local path = clips[2]
    local seq, n = sequential(vs.video(path))
    local v = vs.video(path)
    assert.is_true(vs.is_clip(v))
    local f = vs.frame(v.width, v.height)
    for k = 0, n - 1 do
      v:render(k, f)
      assert.is_true(helper.frame_bytes(f) == seq[k], 'render ' .. k)
    end
    for _, k in ipairs(shuffled(n, 11)) do
      v:render(k, f)
      assert.is_true(helper.frame_bytes(f) == seq[k], 'render ' .. k)
    end
    local t = 5 * v.fps_den / v.fps_num
    assert.is_true(helper.frame_bytes(v:frame_at(t)) == seq[5])
    -- clip operations work on it
    local trimmed = v:trim(10 * v.fps_den / v.fps_num, 20 * v.fps_den / v.fps_num)
    assert.are.equal(10, trimmed.frames)
  end)

  it('keeps the frame index in the probe cache after the first seek', function()
    local cache = os.getenv('XDG_CACHE_HOME')
    if not cache then return end -- run outside scripts/run-tests: the user's cache is left alone
    local path = dir .. '/indexed.mp4'
    helper.sh('cp ' .. q(clips[1]) .. ' ' .. q(path))
    local v = vs.video(path)
    local a = helper.frame_bytes(v:frame(40))
    local real = helper.sh('realpath ' .. q(path)):gsub('\n$', '')
    local out = helper.sh('sqlite3 ' .. q(cache .. '/vstudio/probe.db') ..
      ' "select frames, length(pts), length(keys) from probe where path = \'' .. real .. '\'"')
    if select(3, helper.sh('command -v sqlite3')) ~= 0 then return end -- no sqlite3 CLI
    assert.are.equal('48|384|48\n', out)
    -- a new decoder seeks with the cached index and finds the same frame
    assert.is_true(helper.frame_bytes(vs.video(path):frame(40)) == a)
  end)

  it('times a variable-frame-rate video by its timestamps, :frame(i) by index', function()
    -- 30 fps for 1 s, a 2 s pause, 30 fps for 1 s: 60 frames over 4 s
    for _, ext in ipairs{ 'mp4', 'mkv' } do
      local path = dir .. '/vfr.' .. ext
      local _, err, rc = helper.sh('ffmpeg -v error -y -f lavfi -i testsrc=size=64x48:rate=30 -frames:v 60 ' ..
        '-vf "setpts=\'if(gte(N,30),N+60,N)/(30*TB)\'" -fps_mode vfr -c:v libx264 -bf 2 ' .. q(path))
      assert.are.equal(0, rc, err)
      local p = vs.probe(path, { cache = false })
      assert.is_true(p.vfr, path)
      assert.are.equal(60, p.frames)
      assert.is_near(4.0, p.duration, 0.01)
      assert.are.same(p, vs.probe(path))
      local out = helper.vstudio('probe --json ' .. q(path))
      assert.matches('"vfr": true', out, 1, true)
      assert.matches('"duration": 4.0', out, 1, true)
      assert.matches('30 VFR', (helper.vstudio('probe ' .. q(path))), 1, true)
      -- the stored frames, each once, as ffmpeg decodes them
      local stored = helper.sh('ffmpeg -v error -i ' .. q(path) .. ' -fps_mode passthrough -f rawvideo -pix_fmt rgba -')
      local size = 64 * 48 * 4
      assert.are.equal(60 * size, #stored)
      local v = vs.video(path)
      assert.is_true(v.vfr)
      assert.are.equal(60, v.video_frames)
      assert.are.equal(120, v.frames)
      assert.are.equal(30, v.fps)
      for i = 0, 59 do
        assert.is_true(helper.frame_bytes(v:frame(i)) == stored:sub(i * size + 1, (i + 1) * size), path .. ': frame ' .. i)
      end
      -- as a clip at 30 fps, clip frame k (time k/30) shows the last frame whose
      -- timestamp (ffprobe's, in display order) is at or before it
      local times = {}
      local tb_num, tb_den = tostring(helper.ffprobe_stream(path).time_base):match('(%d+)/(%d+)')
      for t in helper.sh('ffprobe -v error -select_streams v -show_entries frame=best_effort_timestamp ' ..
                         '-of csv=p=0 ' .. q(path)):gmatch('%d+') do
        times[#times + 1] = tonumber(t) * tb_num / tb_den
      end
      assert.are.equal(60, #times)
      local f = vs.frame(64, 48)
      for k = 0, 119 do
        local j = 1
        while j < #times and times[j + 1] - times[1] <= k / 30 + 1e-9 do j = j + 1 end
        v:render(k, f)
        assert.is_true(helper.frame_bytes(f) == stored:sub((j - 1) * size + 1, j * size), path .. ': clip frame ' .. k)
      end
      assert.is_true(helper.frame_bytes(v:frame_at(2.5)) == helper.frame_bytes(v:frame(29)))
      assert.is_true(helper.frame_bytes(v:frame_at(3.0)) == helper.frame_bytes(v:frame(30)))
    end
    -- constant rates are not VFR, a 1 ms time base at 30000/1001 included
    for _, path in ipairs(clips) do
      assert.is_false(vs.probe(path).vfr, path)
      local v = vs.video(path)
      assert.are.equal(v.frames, v.video_frames)
    end
  end)

  it('raises errors naming the file at the caller\'s line', function()
    local line = debug.getinfo(1, 'l').currentline
    local ok, err = pcall(function() vs.video(dir .. '/nope.mp4') end)
    assert.is_false(ok)
    assert.matches('video_spec.lua:' .. (line + 1) .. ':', err, 1, true)
    assert.matches('nope.mp4: no such file', err, 1, true)
    local text = dir .. '/text.mp4'
    helper.write_file(text, 'not a video at all')
    ok, err = pcall(vs.video, text)
    assert.is_false(ok)
    assert.matches('text.mp4: not a readable video', err, 1, true)
    local v = vs.video(clips[1])
    ok, err = pcall(function() v:frame(v.frames) end)
    assert.is_false(ok)
    assert.matches('out of range', err)
    ok, err = pcall(function() v:frame(-1) end)
    assert.is_false(ok)
    assert.has_error(function() vs.video(42) end)
  end)
end)
