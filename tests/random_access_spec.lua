-- random_access_spec.lua: frame-exact access at the end of every stream
-- and one numbering of frames everywhere. Every frame vs.video, extract and
-- vs.dataset deliver is compared byte for byte with ffmpeg's own RGBA
-- decode of the whole file (vs.video converts exactly as the ffmpeg CLI
-- does), in MP4, MKV and MPEG-TS with and without B-frames, and on a stream
-- cut mid-GOP whose first packets cannot be decoded.
local helper = require 'helper'
local vs = require 'vstudio'
local q = helper.q

local dir
local SRC = '-f lavfi -i testsrc=size=64x64:rate=25 -frames:v 150 -c:v libx264 -g 30 '
local clips = {}

local function ffmpeg(args)
  local _, err, rc = helper.sh('ffmpeg -v error -y ' .. args)
  assert(rc == 0, 'ffmpeg failed: ' .. err)
end

-- ffmpeg's decode of every frame (1-based list of RGBA strings).
local oracle = {}
local function ref(path)
  if not oracle[path] then
    local s = helper.ffprobe_stream(path)
    oracle[path] = helper.ffmpeg_rgba_frames(path, s.width, s.height)
  end
  return oracle[path]
end

setup(function()
  dir = helper.tmpdir()
  for _, ext in ipairs{ 'mp4', 'mkv', 'ts' } do
    for _, bf in ipairs{ 0, 3 } do
      local path = string.format('%s/bf%d.%s', dir, bf, ext)
      ffmpeg(SRC .. '-bf ' .. bf .. ' ' .. q(path))
      clips[#clips + 1] = path
    end
  end
end)

teardown(helper.cleanup)

describe('random access', function()
  it('gives every frame of the last GOP, in a fresh decoder and backwards, as ffmpeg decodes it', function()
    for _, path in ipairs(clips) do
      local frames = ref(path)
      assert.are.equal(150, #frames, path)
      local v = vs.video(path)
      assert.are.equal(#frames, v.frames, path)
      assert.is_false(v.vfr, path) -- B-frames reorder timestamps; their gaps, sorted, are even
      for i = 120, 149 do
        assert.is_true(helper.frame_bytes(v:frame(i)) == frames[i + 1], path .. ': frame ' .. i)
      end
      -- each request behind the last: every one seeks
      local w = vs.video(path)
      for i = 149, 0, -11 do
        assert.is_true(helper.frame_bytes(w:frame(i)) == frames[i + 1], path .. ': frame ' .. i)
      end
      -- the first frame of the last GOP, and the last frame, each first thing after opening
      for _, i in ipairs{ 120, 149, 135 } do
        assert.is_true(helper.frame_bytes(vs.video(path):frame(i)) == frames[i + 1], path .. ': frame ' .. i)
      end
    end
  end)

  it('extracts frames of the last GOP', function()
    for _, path in ipairs(clips) do
      local out = dir .. '/x-' .. path:match('[^/]+$')
      local _, err, rc = helper.vstudio('extract ' .. q(path) .. ' ' .. q(out) .. ' --frames 130:132')
      assert.are.equal(0, rc, err)
      local frames = ref(path)
      for _, i in ipairs{ 130, 131 } do
        local png = string.format('%s/%06d.png', out, i)
        assert.is_true(helper.frame_bytes(vs.load(png)) == frames[i + 1], png)
      end
    end
  end)

  it('delivers a dataset shard over the last GOP', function()
    for _, path in ipairs(clips) do
      local frames = ref(path)
      local ds = vs.dataset{ paths = { { path, frames = { 120, 150 } } }, shard = { 2, 2 }, batch = 4, workers = 1 }
      local n = 0
      for b in ds:batches() do
        for k = 1, #b.frames do
          local i = b.indices[k]
          assert.is_true(i >= 135 and i < 150, path .. ': index ' .. i)
          assert.is_true(helper.frame_bytes(b.frames[k]) == frames[i + 1], path .. ': frame ' .. i)
          n = n + 1
        end
      end
      assert.are.equal(ds:count(), n)
      assert.is_true(n > 0)
    end
  end)
end)

describe('frame numbering', function()
  local cut
  setup(function()
    -- cut mid-GOP with the packets before the next keyframe kept: they
    -- cannot be decoded (no parameter sets, nothing to predict from)
    cut = dir .. '/cut.ts'
    ffmpeg('-ss 1.3 -i ' .. q(clips[6]) .. ' -c copy -copyinkf -f mpegts ' .. q(cut))
  end)

  it('counts the frames a decoder delivers, as ffprobe -count_frames does', function()
    local n = helper.ffprobe_frames(cut)
    assert.is_true(n > 0 and n < 150)
    assert.are.equal(n, vs.probe(cut, { cache = false }).frames)
    assert.are.equal(n, vs.probe(cut).frames)
    local out = helper.vstudio('probe --json --no-cache ' .. q(cut))
    assert.are.equal(n, tonumber(out:match('"frames": (%d+)')))
  end)

  it('labels each picture with one number in sequential reads, seeks and dataset shards', function()
    local frames = ref(cut)
    local v = vs.video(cut)
    assert.are.equal(#frames, v.frames)
    for i, f in v:iter() do
      assert.is_true(helper.frame_bytes(f) == frames[i + 1], 'iter ' .. i)
    end
    for _, i in ipairs{ #frames - 1, 0, 40, 17 } do
      assert.is_true(helper.frame_bytes(vs.video(cut):frame(i)) == frames[i + 1], 'frame ' .. i)
    end
    local seen, total = {}, 0
    for s = 1, 3 do
      for b in vs.dataset{ paths = { cut }, shard = { s, 3 }, batch = 5, workers = 1 }:batches() do
        for k = 1, #b.frames do
          local i = b.indices[k]
          assert.is_nil(seen[i], 'frame ' .. i .. ' in two shards')
          seen[i] = true
          assert.is_true(helper.frame_bytes(b.frames[k]) == frames[i + 1], 'shard ' .. s .. ': frame ' .. i)
          total = total + 1
        end
      end
    end
    assert.are.equal(#frames, total)
  end)
end)

describe('an MP4 cut with an edit list', function()
  -- `-ss` with `-c copy` keeps the GOP before the cut and an edit list
  -- discards its frames: the discarded keyframe is still decoded, so the
  -- frames shown up to the next keyframe are frames too
  local cut
  setup(function()
    cut = dir .. '/edit-cut.mp4'
    ffmpeg('-ss 0.3 -i ' .. q(clips[2]) .. ' -c copy ' .. q(cut))
  end)

  it('counts and numbers the same frames with a cold and a warm probe cache, as ffmpeg decodes them', function()
    local frames = ref(cut)
    local n = helper.ffprobe_frames(cut)
    assert.are.equal(#frames, n)
    assert.is_true(n > 120 and n < 150, 'cut to ' .. n .. ' frames')
    assert.are.equal(n, vs.probe(cut).frames) -- cold: counted from the sample table
    local middle, last = math.floor(n / 2), n - 1
    -- the first seek builds the frame index and caches it with the count
    assert.is_true(helper.frame_bytes(vs.video(cut):frame(middle)) == frames[middle + 1], 'cold frame ' .. middle)
    assert.are.equal(n, vs.probe(cut).frames) -- warm
    assert.are.equal(n, vs.probe(cut, { cache = false }).frames)
    for _, args in ipairs{ '--json ', '--json --no-cache ' } do
      local out, err, rc = helper.vstudio('probe ' .. args .. q(cut))
      assert.are.equal(0, rc, err)
      assert.are.equal(n, tonumber(out:match('"frames": (%d+)')), args)
    end
    local v = vs.video(cut)
    assert.are.equal(n, v.frames)
    for _, i in ipairs{ 0, middle, last } do
      assert.is_true(helper.frame_bytes(vs.video(cut):frame(i)) == frames[i + 1], 'warm frame ' .. i)
    end
    local seen = 0
    for i, f in v:iter() do
      assert.is_true(helper.frame_bytes(f) == frames[i + 1], 'iter ' .. i)
      seen = seen + 1
    end
    assert.are.equal(n, seen)
  end)
end)
