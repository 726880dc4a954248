-- probe_spec.lua: vs.probe and `vstudio probe` against ffprobe as the oracle:
-- exact frame counts for B-frame H.264, HEVC, VP9/WebM, MPEG-4 in MKV/AVI and
-- 30000/1001 fps; the SQLite cache (mode, hits, re-probe of a changed file,
-- a corrupt database rebuilt); bad inputs as one-line errors.
local helper = require 'helper'
local vs = require 'vstudio'
local q = helper.q

local dir
local clips = {}
local expected = {} -- path -> ffprobe -count_frames, asked once

local function make(name, args)
  local path = dir .. '/' .. name
  local _, err, rc = helper.sh('ffmpeg -v error -y ' .. args .. ' ' .. q(path))
  assert(rc == 0, 'ffmpeg failed: ' .. err)
  clips[#clips + 1] = path
  return path
end

local SRC = '-f lavfi -i testsrc2=size=160x120:rate='

setup(function()
  dir = helper.tmpdir()
  make('h264_bf.mp4', SRC .. '30 -frames:v 50 -c:v libx264 -bf 3 -g 12 -pix_fmt yuv420p')
  make('hevc.mp4', SRC .. '30 -frames:v 37 -c:v libx265 -x265-params log-level=error')
  make('vp9.webm', SRC .. '30 -frames:v 31 -c:v libvpx-vp9 -deadline realtime -cpu-used 8')
  make('mpeg4.mkv', SRC .. '25 -frames:v 40 -c:v mpeg4 -bf 2 -g 10')
  make('mpeg4.avi', SRC .. '25 -frames:v 33 -c:v mpeg4 -bf 2 -g 10')
  make('ntsc.mp4', SRC .. '30000/1001 -frames:v 45 -c:v libx264 -bf 2 -g 15 -pix_fmt yuv420p')
  -- a stream copy from mid-GOP: an MP4 edit list hides the packets before 0.5 s
  make('edit_list.mp4', '-ss 0.5 -i ' .. q(clips[1]) .. ' -c copy')
  make('h264.ts', SRC .. '30 -frames:v 33 -c:v libx264 -bf 3 -g 12 -pix_fmt yuv420p')
  -- fragmented MP4: the sample index is incomplete at open, packets are counted
  make('fragmented.mp4', SRC .. '30 -frames:v 41 -c:v libx264 -bf 3 -g 12 -pix_fmt yuv420p -movflags frag_keyframe+empty_moov')
  for _, path in ipairs(clips) do expected[path] = helper.ffprobe_frames(path) end
end)

teardown(helper.cleanup)

describe('vs.probe', function()
  it('counts frames exactly as ffprobe -count_frames does', function()
    for _, path in ipairs(clips) do
      local p = vs.probe(path, { cache = false })
      assert.is_number(expected[path])
      assert.are.equal(expected[path], p.frames, path)
    end
  end)

  it('reports size, rate, codec, pixel format and container like ffprobe', function()
    for _, path in ipairs(clips) do
      local p = vs.probe(path, { cache = false })
      local s = helper.ffprobe_stream(path)
      assert.are.equal(s.width, p.width)
      assert.are.equal(s.height, p.height)
      assert.are.equal(s.codec_name, p.codec)
      assert.are.equal(s.pix_fmt, p.pix_fmt)
      local n, d = tostring(s.r_frame_rate):match('(%d+)/(%d+)')
      assert.are.equal(tonumber(n), p.fps_num, path)
      assert.are.equal(tonumber(d), p.fps_den, path)
      assert.is_near(p.frames * p.fps_den / p.fps_num, p.duration, 1e-9)
      assert.is_near(p.fps_num / p.fps_den, p.fps, 1e-12)
      assert.is_string(p.container)
      assert.is_number(p.bit_rate)
    end
    assert.are.equal(30000, vs.probe(dir .. '/ntsc.mp4').fps_num)
    assert.are.equal(1001, vs.probe(dir .. '/ntsc.mp4').fps_den)
    assert.are.equal('webm', vs.probe(dir .. '/vp9.webm').container)
    assert.are.equal('mp4', vs.probe(dir .. '/h264_bf.mp4').container)
  end)

  it('gives the same answer from the cache', function()
    for _, path in ipairs(clips) do
      local a = vs.probe(path)
      local b = vs.probe(path)
      assert.are.same(vs.probe(path, { cache = false }), a)
      assert.are.same(a, b)
    end
  end)

  it('raises an error naming the file at the caller\'s line', function()
    local ok, err = pcall(vs.probe, dir .. '/missing.mp4')
    assert.is_false(ok)
    assert.matches('missing.mp4: no such file', err, 1, true)
    local line = debug.getinfo(1, 'l').currentline
    ok, err = pcall(function() vs.probe(dir .. '/missing.mp4') end)
    assert.matches('probe_spec.lua:' .. (line + 1) .. ':', err, 1, true)
  end)
end)

describe('vstudio probe', function()
  local function cache_env(c) return 'XDG_CACHE_HOME=' .. q(c) .. ' ' end

  it('prints a table, and --json an array that matches vs.probe', function()
    local out, _, rc = helper.vstudio('probe ' .. q(clips[1]) .. ' ' .. q(clips[3]))
    assert.are.equal(0, rc)
    assert.matches('FRAMES', out)
    assert.matches('h264_bf.mp4%s+160x120%s+30%s+50', out)
    out, _, rc = helper.vstudio('probe --json ' .. q(clips[1]) .. ' ' .. q(clips[6]))
    assert.are.equal(0, rc)
    local py = helper.sh("printf '%s' " .. q(out) ..
      " | /usr/bin/python3 -c 'import json,sys; a=json.load(sys.stdin); " ..
      "print(len(a), a[0][\"frames\"], a[1][\"fps_num\"], a[1][\"fps_den\"], a[1][\"container\"], a[0][\"path\"])'")
    assert.are.equal('2 50 30000 1001 mp4 ' .. clips[1] .. '\n', py)
  end)

  it('probes many files in parallel with the same counts', function()
    local list = {}
    for _, p in ipairs(clips) do list[#list + 1] = q(p) end
    local out, _, rc = helper.vstudio('probe --no-cache --json -j 4 ' .. table.concat(list, ' '))
    assert.are.equal(0, rc)
    local k = 0
    for frames in out:gmatch('"frames": (%d+)') do
      k = k + 1
      assert.are.equal(expected[clips[k]], tonumber(frames))
    end
    assert.are.equal(#clips, k)
  end)

  it('keeps a 0600 cache that re-probes a changed file', function()
    local c = helper.tmpdir() .. '/xdg'
    local path = dir .. '/changing.mp4'
    helper.sh('cp ' .. q(clips[1]) .. ' ' .. q(path))
    local _, _, rc = helper.sh(cache_env(c) .. q(helper.bin) .. ' probe ' .. q(path))
    assert.are.equal(0, rc)
    local db = c .. '/vstudio/probe.db'
    assert.are.equal('600\n', (helper.sh('stat -c %a ' .. q(db))))
    assert.are.equal('700\n', (helper.sh('stat -c %a ' .. q(c .. '/vstudio'))))
    local rows = helper.sh('sqlite3 ' .. q(db) .. ' "select frames from probe where path like \'%changing.mp4\'"')
    if rows ~= '' then assert.are.equal('50\n', rows) end
    -- the same path now holds a different video: the cache must not answer
    helper.sh('cp ' .. q(clips[4]) .. ' ' .. q(path))
    local out = helper.sh(cache_env(c) .. q(helper.bin) .. ' probe --json ' .. q(path))
    assert.matches('"frames": 40', out)
    assert.matches('"codec": "mpeg4"', out)
    -- touching it (new mtime) re-probes too and still gives the right answer
    helper.sh('touch -d "2001-01-01" ' .. q(path))
    out = helper.sh(cache_env(c) .. q(helper.bin) .. ' probe --json ' .. q(path))
    assert.matches('"frames": 40', out)
  end)

  it('answers from the cache on the second probe', function()
    local c = helper.tmpdir() .. '/xdg'
    local path = dir .. '/cached.mp4'
    helper.sh('cp ' .. q(clips[2]) .. ' ' .. q(path))
    helper.sh(cache_env(c) .. q(helper.bin) .. ' probe ' .. q(path))
    -- overwrite the row's frame count: a cache hit must then report it
    local _, _, rc = helper.sh('sqlite3 ' .. q(c .. '/vstudio/probe.db') .. ' "update probe set frames = 999"')
    if rc ~= 0 then return end -- no sqlite3 CLI: nothing more to check here
    local out = helper.sh(cache_env(c) .. q(helper.bin) .. ' probe --json ' .. q(path))
    assert.matches('"frames": 999', out)
    out = helper.sh(cache_env(c) .. q(helper.bin) .. ' probe --json --no-cache ' .. q(path))
    assert.matches('"frames": 37', out)
  end)

  it('rebuilds a corrupt cache database with a warning', function()
    local c = helper.tmpdir() .. '/xdg'
    helper.sh('mkdir -p ' .. q(c .. '/vstudio'))
    helper.write_file(c .. '/vstudio/probe.db', string.rep('this is not sqlite ', 500))
    local out, err, rc = helper.sh(cache_env(c) .. q(helper.bin) .. ' probe --json ' .. q(clips[1]))
    assert.are.equal(0, rc)
    assert.matches('warning: probe cache', err)
    assert.matches('rebuilding', err)
    assert.matches('"frames": 50', out)
    -- rebuilt: the next run is quiet and works
    out, err, rc = helper.sh(cache_env(c) .. q(helper.bin) .. ' probe --json ' .. q(clips[1]))
    assert.are.equal(0, rc)
    assert.are.equal('', err)
    assert.matches('"frames": 50', out)
  end)

  it('lets several processes fill one new cache at once', function()
    local c = helper.tmpdir() .. '/xdg'
    local out = helper.tmpdir()
    local list = {}
    for _, p in ipairs(clips) do list[#list + 1] = q(p) end
    local cmd = cache_env(c) .. q(helper.bin) .. ' probe --json ' .. table.concat(list, ' ')
    local jobs = {}
    for k = 1, 4 do jobs[k] = cmd .. ' > ' .. q(out .. '/' .. k) .. ' 2>&1 &' end
    local _, _, rc = helper.sh(table.concat(jobs, ' ') .. ' wait')
    assert.are.equal(0, rc)
    local first = helper.read_file(out .. '/1')
    assert.matches('"frames": 50', first)
    assert.is_nil(first:find('warning'))
    for k = 2, 4 do assert.are.equal(first, helper.read_file(out .. '/' .. k)) end
  end)

  it('works without a cache when the cache folder is read-only', function()
    local c = helper.tmpdir() .. '/ro'
    helper.sh('mkdir -p ' .. q(c) .. ' && chmod 500 ' .. q(c))
    local out, err, rc = helper.sh(cache_env(c) .. q(helper.bin) .. ' probe --json ' .. q(clips[1]))
    helper.sh('chmod 700 ' .. q(c))
    assert.are.equal(0, rc)
    assert.matches('"frames": 50', out)
    if helper.sh('id -u') ~= '0\n' then assert.matches('warning: probe cache', err) end
  end)

  it('re-probes a file rewritten in place with its old size and mtime', function()
    local c = helper.tmpdir() .. '/xdg'
    local d = helper.tmpdir()
    local a, b, ref = d .. '/a.y4m', d .. '/b.y4m', d .. '/ref'
    -- two raw videos of one byte size: 10 frames of 64x48 and of 32x96
    helper.sh('ffmpeg -v error -y -f lavfi -i testsrc=size=64x48:rate=25 -frames:v 10 -pix_fmt yuv420p ' .. q(a))
    helper.sh('ffmpeg -v error -y -f lavfi -i testsrc=size=32x96:rate=25 -frames:v 10 -pix_fmt yuv420p ' .. q(b))
    assert.are.equal(#helper.read_file(a), #helper.read_file(b))
    local out, _, rc = helper.sh(cache_env(c) .. q(helper.bin) .. ' probe --json ' .. q(a))
    assert.are.equal(0, rc)
    assert.matches('"width": 64, "height": 48', out, 1, true)
    -- same inode, size and mtime; only the ctime tells
    helper.sh('touch -r ' .. q(a) .. ' ' .. q(ref) .. ' && cat ' .. q(b) .. ' > ' .. q(a) .. ' && touch -r ' .. q(ref) ..
      ' ' .. q(a))
    out, _, rc = helper.sh(cache_env(c) .. q(helper.bin) .. ' probe --json ' .. q(a))
    assert.are.equal(0, rc)
    assert.matches('"width": 32, "height": 96', out, 1, true)
    assert.are.equal(32, vs.probe(a, { cache = false }).width)
  end)

  it('empties a cache of the old schema and works on', function()
    local c = helper.tmpdir() .. '/xdg'
    helper.sh('mkdir -p ' .. q(c .. '/vstudio'))
    local _, _, rc = helper.sh('sqlite3 ' .. q(c .. '/vstudio/probe.db') .. ' "create table probe(path text primary key,' ..
      ' size integer, mtime_ns integer, inode integer, version integer, width integer, height integer, fps_num integer,' ..
      ' fps_den integer, frames integer, duration real, bit_rate integer, codec text, pix_fmt text, container text,' ..
      ' pts blob, keys blob)"')
    if rc ~= 0 then return end -- no sqlite3 CLI
    local out, err
    out, err, rc = helper.sh(cache_env(c) .. q(helper.bin) .. ' probe --json ' .. q(clips[1]))
    assert.are.equal(0, rc, err)
    assert.are.equal('', err)
    assert.matches('"frames": 50', out)
    local version = helper.sh('sqlite3 ' .. q(c .. '/vstudio/probe.db') .. ' "pragma user_version"')
    assert.are_not.equal('0\n', version)
    assert.matches('ctime_ns', (helper.sh('sqlite3 ' .. q(c .. '/vstudio/probe.db') .. ' .schema')))
  end)

  it('works uncached with a note when another process holds the setup lock', function()
    local c = helper.tmpdir() .. '/xdg'
    helper.sh('mkdir -p ' .. q(c .. '/vstudio'))
    if select(3, helper.sh('command -v flock')) ~= 0 then return end
    local lock = c .. '/vstudio/probe.db.lock'
    local t0 = os.time()
    -- the holder outlives the wait (3 s) and then ends by itself
    local out, err, rc = helper.sh('flock ' .. q(lock) .. ' sleep 6 >/dev/null 2>&1 & sleep 0.5; ' .. cache_env(c) ..
      q(helper.bin) .. ' probe --json ' .. q(clips[1]))
    assert.are.equal(0, rc, err)
    assert.matches('"frames": 50', out)
    assert.matches('probe.db.lock: held by another process', err, 1, true)
    assert.is_true(os.time() - t0 < 20)
  end)

  it('refuses a faststart MP4 cut short, cached or not, counting what its data holds', function()
    local c = helper.tmpdir() .. '/xdg'
    local d = helper.tmpdir()
    local whole = d .. '/faststart.mp4'
    helper.sh('ffmpeg -v error -y ' .. SRC .. '30 -frames:v 90 -c:v libx264 -pix_fmt yuv420p -movflags +faststart ' ..
      q(whole))
    local data = helper.read_file(whole)
    local _, _, rc = helper.sh(cache_env(c) .. q(helper.bin) .. ' probe ' .. q(whole))
    assert.are.equal(0, rc)
    for _, part in ipairs{ 0.25, 0.5, 0.9, 'one byte' } do
      local path = d .. '/cut.mp4'
      helper.write_file(path, data:sub(1, part == 'one byte' and #data - 1 or math.floor(#data * part)))
      local held = helper.ffprobe_frames(path)
      for _, flags in ipairs{ '', '--no-cache ' } do
        local out, err
        out, err, rc = helper.sh(cache_env(c) .. q(helper.bin) .. ' probe ' .. flags .. q(path))
        assert.are.equal(1, rc, tostring(part) .. ' ' .. flags)
        assert.are.equal('', out)
        assert.matches('cut.mp4: cut short: its index lists 90 frames', err, 1, true)
        local n = tonumber(err:match('the data holds (%d+)'))
        assert.is_true(n < 90 and math.abs(n - held) <= 1, err .. ' ffprobe: ' .. held)
      end
      assert.has_error(function() vs.video(path) end)
    end
  end)

  describe('bad input', function()
    local bad
    setup(function()
      local d = helper.tmpdir()
      bad = {
        missing = d .. '/missing.mp4',
        text = d .. '/text.mp4',
        cut = d .. '/cut.mp4',
        audio = d .. '/audio.mp4',
        empty = d .. '/empty.mp4',
      }
      helper.write_file(bad.text, 'hello, this is not a video\n')
      helper.write_file(bad.empty, '')
      local whole = helper.read_file(clips[1])
      helper.write_file(bad.cut, whole:sub(1, math.floor(#whole / 2)))
      helper.sh('ffmpeg -v error -y -f lavfi -i sine=frequency=440:duration=0.5 -c:a aac ' .. q(bad.audio))
    end)

    for _, case in ipairs {
      { 'missing', 'no such file' }, { 'text', 'not a readable video' }, { 'cut', 'not a readable video' },
      { 'audio', 'no video stream' }, { 'empty', 'empty file' },
    } do
      it('reports a ' .. case[1] .. ' file in one line and exits 1', function()
        local out, err, rc = helper.vstudio('probe ' .. q(bad[case[1]]))
        assert.are.equal(1, rc)
        assert.are.equal('', out)
        local lines = select(2, err:gsub('\n', ''))
        assert.are.equal(1, lines, err)
        assert.matches('^vstudio: probe: ' .. bad[case[1]]:gsub('%p', '%%%0') .. ': ', err)
        assert.matches(case[2], err, 1, true)
        local ok, lerr = pcall(vs.probe, bad[case[1]], { cache = false })
        assert.is_false(ok)
        assert.matches(case[2], lerr, 1, true)
      end)
    end

    it('still prints the good files and exits 1', function()
      local out, err, rc = helper.vstudio('probe ' .. q(bad.text) .. ' ' .. q(clips[1]) .. ' ' .. q(bad.empty))
      assert.are.equal(1, rc)
      assert.matches('h264_bf.mp4', out)
      assert.matches('text.mp4', err)
      assert.matches('empty.mp4', err)
    end)

    it('has --help', function()
      local out, _, rc = helper.vstudio('probe --help')
      assert.are.equal(0, rc)
      assert.matches('Usage: vstudio probe', out)
      local _, _, rc2 = helper.vstudio('probe')
      assert.are.equal(2, rc2)
    end)
  end)
end)
