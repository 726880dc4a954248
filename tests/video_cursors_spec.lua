-- video_cursors_spec.lua: one video read at two places in turn (a crossfade
-- of two trims of it) decodes each frame about once, because the decoder
-- keeps a few decoding positions instead of seeking back at every switch,
-- and the frames are still exactly ffmpeg's: every frame of the crossfade
-- equals the mix of ffmpeg's decode of the two source frames, in MP4, MKV
-- and MPEG-TS with B-frames. Seeks land on the keyframe they aim at (no GOP
-- decoded in vain) in each container.
local ffi = require 'ffi'
local helper = require 'helper'
local vs = require 'vstudio'
local core = require 'vstudio.core'
local q = helper.q

local W, H = 96, 64
local dir
local clips = {}

setup(function()
  dir = helper.tmpdir()
  for _, ext in ipairs{ 'mp4', 'mkv', 'ts' } do
    local path = dir .. '/src.' .. ext
    local _, err, rc = helper.sh('ffmpeg -v error -y -f lavfi -i testsrc2=size=' .. W .. 'x' .. H .. ':rate=30 ' ..
                                 '-frames:v 90 -c:v libx264 -bf 3 -g 30 -pix_fmt yuv420p ' .. q(path))
    assert(rc == 0, 'ffmpeg failed: ' .. err)
    clips[#clips + 1] = path
  end
end)

teardown(helper.cleanup)

-- A frame holding ffmpeg's RGBA bytes.
local function frame_of(bytes)
  local f = core.frame(W, H)
  for y = 0, H - 1 do ffi.copy(f.data + y * f.stride, bytes:sub(y * W * 4 + 1, (y + 1) * W * 4), W * 4) end
  return f
end

describe('a video read at two places', function()
  it('crossfades two trims of one video decoding each frame about once, frames equal to ffmpeg', function()
    for _, path in ipairs(clips) do
      local ref = helper.ffmpeg_rgba_frames(path, W, H)
      assert.are.equal(90, #ref, path)
      local v = vs.video(path)
      -- a: source frames 0..59; b: source 30 + floor(1.5 j), 40 frames; 15 frames of overlap
      local a = v:trim(0, 2)
      local b = v:trim(1, 3):speed(1.5)
      local c = vs.crossfade(a, b, 0.5)
      assert.are.equal(60 + 40 - 15, c.frames, path)
      for k = 0, c.frames - 1 do
        local want
        if k < 45 then
          want = ref[k + 1]
        else
          local j = k - 45
          local fb = frame_of(ref[30 + math.floor(1.5 * j) + 1])
          if k >= 60 then
            want = helper.frame_bytes(fb)
          else
            local mixed = frame_of(ref[k + 1])
            core.C.vs_frame_mix(mixed, mixed, fb, j / 15)
            want = helper.frame_bytes(mixed)
          end
        end
        assert.is_true(helper.frame_bytes(c:frame(k)) == want, path .. ': frame ' .. k)
      end
      -- a reads 0..59 and b 30..89 (from the keyframe at 30): 120 frames at
      -- most, with one seek; one position would seek at every overlap frame
      local st = v:decode_stats()
      assert.is_true(st.decoded <= 120, path .. ': decoded ' .. st.decoded)
      assert.is_true(st.decoded >= 90, path .. ': decoded ' .. st.decoded)
      assert.are.equal(1, st.seeks, path)
      assert.are.equal(2, st.cursors, path)
    end
  end)

  it('seeks to the keyframe at or before the frame, decoding no earlier GOP', function()
    for _, path in ipairs(clips) do
      local ref = helper.ffmpeg_rgba_frames(path, W, H)
      for _, i in ipairs{ 50, 89, 61 } do
        local v = vs.video(path)
        assert.is_true(helper.frame_bytes(v:frame(i)) == ref[i + 1], path .. ': frame ' .. i)
        local st = v:decode_stats()
        -- from the keyframe at 30 or 60 (frames nothing refers to skipped on the way)
        local from = i >= 60 and 60 or 30
        assert.is_true(st.decoded <= i - from + 1, path .. ': frame ' .. i .. ' decoded ' .. st.decoded)
        assert.are.equal(1, st.seeks, path)
        v:close()
      end
    end
  end)

  it('moves its one position on jumps ahead (sorted random access) instead of opening more', function()
    for _, path in ipairs(clips) do
      local ref = helper.ffmpeg_rgba_frames(path, W, H)
      local v = vs.video(path)
      for _, i in ipairs{ 3, 47, 75, 88 } do
        assert.is_true(helper.frame_bytes(v:frame(i)) == ref[i + 1], path .. ': frame ' .. i)
      end
      local st = v:decode_stats()
      assert.are.equal(1, st.cursors, path)
      assert.are.equal(2, st.seeks, path) -- to the keyframes at 30 and 60; 88 is forward from 76
    end
  end)

  it('closes a position left idle (a clip that ended), exact when read there again', function()
    local path = dir .. '/long.mp4'
    local _, err, rc = helper.sh('ffmpeg -v error -y -f lavfi -i testsrc2=size=' .. W .. 'x' .. H .. ':rate=30 ' ..
                                 '-frames:v 300 -c:v libx264 -bf 3 -g 30 -pix_fmt yuv420p ' .. q(path))
    assert(rc == 0, 'ffmpeg failed: ' .. err)
    local ref = helper.ffmpeg_rgba_frames(path, W, H)
    local v = vs.video(path)
    local function check(i) assert.is_true(helper.frame_bytes(v:frame(i)) == ref[i + 1], 'frame ' .. i) end
    for i = 200, 204 do check(i) end
    check(0)
    local st = v:decode_stats()
    assert.are.equal(2, st.cursors)
    assert.are.equal(2, st.open)
    -- 0..150 at the second place: the first, idle for 150 frames, is closed
    for i = 1, 150 do check(i) end
    st = v:decode_stats()
    assert.are.equal(2, st.cursors)
    assert.are.equal(1, st.open)
    for i = 205, 209 do check(i) end
    st = v:decode_stats()
    assert.are.equal(1, st.open)
    v:close()
  end)

  it('keeps a bounded number of positions when read at many places', function()
    local path = clips[1]
    local ref = helper.ffmpeg_rgba_frames(path, W, H)
    local v = vs.video(path)
    -- five places read in turn: at most four positions, every frame exact
    for step = 0, 9 do
      for place = 0, 4 do
        local i = place * 17 + step
        assert.is_true(helper.frame_bytes(v:frame(i)) == ref[i + 1], 'frame ' .. i)
      end
    end
    local st = v:decode_stats()
    assert.is_true(st.cursors >= 2 and st.cursors <= 4, 'cursors ' .. st.cursors)
    -- the frames kept for nearby requests stay a few, however many places
    assert.is_true(st.held_most >= 1 and st.held_most <= 8, 'held at most ' .. st.held_most)
    assert.is_true(st.held >= 1 and st.held <= st.held_most, 'held ' .. st.held)
  end)
end)
