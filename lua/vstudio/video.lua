-- video.lua: reading videos. vs.probe(path) answers what a file holds (an
-- exact frame count, from the probe cache when the file is unchanged);
-- vs.video(path) opens it for frames: v:frame(i) is frame-exact random
-- access (0-based, equal to the i-th frame of a sequential decode),
-- v:iter() walks frames in order without seeking, and the video is a clip
-- (clip.lua) whose render decodes forward when frames come in order.
-- A variable-frame-rate video (probe's vfr) is timed by its timestamps: as
-- a clip at its base rate v.fps, the frame shown at time t is the last one
-- whose timestamp is at or before t, so v.frames (the clip's frames, its
-- duration times v.fps) differs from v.video_frames (the frames stored,
-- which :frame(i) and :iter() number); in a constant-rate video they agree.
local ffi = require 'ffi'
local core = require 'vstudio.core'
local check = require 'vstudio.check'
local clip = require 'vstudio.clip'
local session = require 'vstudio.session'
local sound = require 'vstudio.audio'

local C = core.C

local function probe_table(info)
  return {
    width = info.width, height = info.height,
    fps = info.fps_num / info.fps_den, fps_num = info.fps_num, fps_den = info.fps_den,
    frames = tonumber(info.frames), duration = info.duration,
    codec = ffi.string(info.codec), pix_fmt = ffi.string(info.pix_fmt),
    bit_rate = tonumber(info.bit_rate), container = ffi.string(info.container),
    vfr = info.vfr ~= 0,
    -- the first audio stream, nil when the file has no sound
    audio = info.audio_streams > 0 and {
      codec = ffi.string(info.audio_codec), rate = info.audio_rate, channels = info.audio_channels,
      duration = info.audio_duration, streams = info.audio_streams,
      samples = info.audio_samples >= 0 and tonumber(info.audio_samples) or nil,
    } or nil,
  }
end

local function check_path(path, what)
  if type(path) ~= 'string' or path == '' then
    check.fail('%s: path must be a non-empty string, got %s', what, path)
  end
end

local function check_index(v, i, what)
  if type(i) ~= 'number' or i % 1 ~= 0 or i < 0 or i >= v.video_frames then
    check.fail('%s: frame %s is out of range (%s has %d frames, 0..%d)', what, i, v.path, v.video_frames,
               v.video_frames - 1)
  end
end

local M = {}

function M.install(vs)
  -- vs.probe(path[, {cache = false}]) -> {width, height, fps, fps_num, fps_den,
  -- frames, duration, codec, pix_fmt, bit_rate, container, vfr, audio}; audio:
  -- {codec, rate, channels, duration, samples (exact, nil when not cheap),
  -- streams} of the first audio stream, nil without sound
  function vs.probe(path, opts)
    check_path(path, 'probe')
    if opts ~= nil and type(opts) ~= 'table' then
      check.fail('probe: options must be a table, got %s', type(opts))
    end
    local use_cache = not (opts and opts.cache == false)
    local info = ffi.new('vs_probe_info')
    core.check(C.vs_probe(path, use_cache and 1 or 0, info), 'probe')
    return probe_table(info)
  end

  -- vs.video(path[, {threads = N}]) -> a video source that is also a clip.
  function vs.video(path, opts)
    check_path(path, 'video')
    if opts ~= nil and type(opts) ~= 'table' then
      check.fail('video: options must be a table, got %s', type(opts))
    end
    local threads = opts and opts.threads or 0
    if type(threads) ~= 'number' or threads % 1 ~= 0 or threads < 0 or threads > 256 then
      check.fail('video: threads must be an integer 0..256 (0: automatic), got %s', threads)
    end
    -- in the render engine every worker opens this video: share one decoder
    local dec = (session.shared_video and C.vs_decoder_open_shared or C.vs_decoder_open)(path, threads)
    core.check(dec, 'video')
    dec = ffi.gc(dec, C.vs_decoder_close)
    local info = ffi.new('vs_probe_info')
    core.check(C.vs_decoder_info(dec, info), 'video')
    local p = probe_table(info)
    -- vs_decoder_frame decodes forward without seeking when k is the next
    -- frame (or a few ahead), so a clip rendered in order costs one decode
    -- per frame.
    local frames, render = p.frames, function(_, k, frame)
      core.check(C.vs_decoder_frame(dec, k, frame), 'video')
    end
    if p.vfr then
      -- clip frame k is time k/fps: the frame shown then, by timestamp
      frames = math.max(1, math.floor(p.duration * p.fps_num / p.fps_den + 0.5))
      local shown = ffi.new('int64_t[1]')
      render = function(_, k, frame)
        core.check(C.vs_decoder_index_at(dec, k * p.fps_den / p.fps_num, shown), 'video')
        core.check(C.vs_decoder_frame(dec, shown[0], frame), 'video')
      end
    end
    local v = clip.new_clip({ p.width, p.height }, p.fps_num, p.fps_den, frames, render)
    v.path, v.codec, v.pix_fmt, v.container, v.bit_rate = path, p.codec, p.pix_fmt, p.container, p.bit_rate
    v.vfr, v.video_frames = p.vfr, p.frames
    -- its sound as a clip's (audio.lua), nil when the file has none; decoded only where it is read
    v.audio = sound.fit(sound.of_video(path, info), frames, p.fps_num, p.fps_den)

    -- v:frame(i): frame i (0-based) in a new frame owned by the GC.
    function v.frame(self, i)
      check_index(self, i, 'video:frame')
      local f = core.frame(p.width, p.height)
      core.check(C.vs_decoder_frame(dec, i, f), 'video:frame')
      return f
    end

    -- for i, frame in v:iter([a, b]) do ... end: frames a..b-1 (0-based,
    -- default all of v.video_frames) in order. The same frame object is reused
    -- for every step: copy it (frame:copy()) to keep one past its iteration.
    function v.iter(self, a, b)
      local n = self.video_frames
      a = a or 0
      b = b or n
      if type(a) ~= 'number' or type(b) ~= 'number' or a % 1 ~= 0 or b % 1 ~= 0 or a < 0 or b > n or a > b then
        check.fail('video:iter: range must be 0 <= a <= b <= %d, got %s, %s', n, a, b)
      end
      local f = core.frame(p.width, p.height)
      local i = a - 1
      return function()
        i = i + 1
        if i >= b then return nil end
        core.check(C.vs_decoder_frame(dec, i, f), 'video:iter')
        return i, f
      end
    end

    -- v:decode_stats() -> {decoded, seeks, cursors, open, held, held_most}:
    -- frames decoded, seeks and decoding positions opened since the video
    -- opened, positions open now, and decoded frames kept for nearby
    -- requests now and at most (in the render engine, by the decoder all
    -- workers share).
    function v.decode_stats(_)
      local st = ffi.new('vs_decoder_stats')
      core.check(C.vs_decoder_get_stats(dec, st), 'video:decode_stats')
      return { decoded = tonumber(st.decoded), seeks = tonumber(st.seeks), cursors = tonumber(st.cursors),
               open = tonumber(st.open), held = tonumber(st.held), held_most = tonumber(st.held_most) }
    end

    -- Closes the file now instead of at garbage collection.
    function v.close(self)
      if dec ~= nil then
        C.vs_decoder_close(ffi.gc(dec, nil))
        dec = nil
      end
    end
    return v
  end
end

return M
