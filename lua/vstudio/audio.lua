-- audio.lua: sound. An audio value describes a sound: sources (vs.audio(path), vs.tone{},
-- vs.audio{fill=}) and operations on them (trim, delay, loop, reverse, speed, volume, fades,
-- vs.mix). It is plain Lua, like a clip, and is turned into a tree of C nodes
-- (src/audio_graph.c) for one output rate and channel count when something reads it:
-- a:samples(), or the render, which pulls the clip's sound in C in its encoding thread.
--
-- Lengths are exact sample counts at the rate asked for (a:length(rate)). A clip's sound
-- (clip.audio) always lasts exactly as long as its picture: frame k starts at sample
-- floor(k * rate * fps_den / fps_num) (vs_audio_frame_start), and clip operations
-- (clip.lua) place sound by frame numbers through that one formula, so picture and sound
-- stay in sync to the sample through any chain of operations.
--
-- A fill function and a gain function of t run in the Lua state that reads the sound (in a
-- render, a state of its own that loads the script like a worker), called from C in blocks:
-- fill for aligned blocks of 4096 samples, gain every 32 samples (linear in between).
local ffi = require 'ffi'
local core = require 'vstudio.core'
local check = require 'vstudio.check'
local C = core.C

local floor, ceil, max, min = math.floor, math.ceil, math.max, math.min

local Audio = {}
-- duration is computed when asked (a file's exact length means decoding it)
Audio.__index = function(a, k)
  if k == 'duration' then return a._length(a.rate) / a.rate end
  return Audio[k]
end

local DEFAULT_RATE, DEFAULT_CHANNELS = 48000, 2

-- The message a Lua callback (fill, gain) failed with, raised when the read returns.
local pending = {}

local tempo -- speed with the pitch kept (libavfilter's atempo), below

-- New audio: its native rate and channels, length(rate) -> samples, make(rate, channels) -> a
-- C node (owned by the caller), and duration in seconds when known without the length.
local function new_audio(spec)
  return setmetatable({
    duration = spec.duration, rate = spec.rate or DEFAULT_RATE, channels = spec.channels or DEFAULT_CHANNELS,
    _length = spec.length, _make = spec.make, _nodes = {},
  }, Audio)
end

local function is_audio(a)
  return getmetatable(a) == Audio
end

local function check_audio(a, what)
  if not is_audio(a) then check.fail('%s: expected a sound (vs.audio, vs.tone, v.audio), got %s', what, type(a)) end
  return a
end

-- Exact samples: where frame k of a clip at fps_num/fps_den starts at rate.
local function frame_sample(k, rate, num, den)
  return tonumber(C.vs_audio_frame_start(k, rate, num, den))
end

-- Seconds to samples, to the nearest.
local function seconds_sample(t, rate)
  return floor(t * rate + 0.5)
end

function Audio:length(rate)
  return self._length(rate or DEFAULT_RATE)
end

-- The C node for (rate, channels), made once per Lua state.
function Audio:node(rate, channels)
  rate, channels = rate or DEFAULT_RATE, channels or DEFAULT_CHANNELS
  local key = rate .. ':' .. channels
  local n = self._nodes[key]
  if not n then
    n = core.check(self._make(rate, channels), 'audio')
    n = ffi.gc(n, C.vs_audio_free)
    self._nodes[key] = n
  end
  return n
end

-- Reads through C, raising a callback's own error when one failed.
local function read(node, first, n, buf)
  pending.message = nil
  if C.vs_audio_read(node, first, n, buf) < 0 then
    local msg = pending.message or ffi.string(C.vs_last_error())
    pending.message = nil
    error(msg, 0)
  end
end
-- A Lua callback below this call must not be reached from JIT-compiled code.
jit.off(read)

-- a:samples(first, n[, {rate=, channels=}]) -> a table of n * channels numbers, interleaved
-- (sample i, channel c at [i * channels + c + 1]), as mixed: before the output's clipping.
function Audio:samples(first, n, opts)
  opts = opts or {}
  local rate = check.int(opts.rate or DEFAULT_RATE, 1, 768000, 'samples: rate')
  local channels = check.int(opts.channels or DEFAULT_CHANNELS, 1, 64, 'samples: channels')
  check.int(first, -2 ^ 52, 2 ^ 52, 'samples: first')
  check.int(n, 0, 2 ^ 26, 'samples: n')
  local buf = ffi.new('float[?]', max(1, n * channels))
  local ok, err = pcall(read, self:node(rate, channels), first, n, buf)
  if not ok then check.fail('samples: %s', err) end
  local out = {}
  for i = 0, n * channels - 1 do out[i + 1] = buf[i] end
  return out
end

function Audio:__tostring()
  return string.format('audio %gs %d Hz %d ch', self.duration, self.rate, self.channels)
end

---------------------------------------------------------------- building blocks

-- Audio with the timing of a (rate, channels) but another length and node.
local function derived(a, length, make)
  return new_audio { rate = a.rate, channels = a.channels, length = length, make = make }
end

local function cut(a, first, length)
  return derived(a, length, function(r, ch)
    return C.vs_audio_cut(a:node(r, ch), first(r), length(r))
  end)
end

-- Sound placed at sample starts (functions of the rate) and summed, lasting length(rate), with
-- the largest channel count among the parts (a mono part is laid on every channel of it).
local function mix_at(parts, starts, length)
  local channels = 1
  for _, a in ipairs(parts) do channels = max(channels, a.channels) end
  return new_audio { rate = parts[1].rate, channels = channels, length = length, make = function(r, ch)
    local n = #parts
    local nodes = ffi.new('vs_audio*[?]', n)
    local at = ffi.new('int64_t[?]', n)
    for i = 1, n do
      nodes[i - 1] = parts[i]:node(r, ch)
      at[i - 1] = starts[i](r)
    end
    return C.vs_audio_mix(nodes, at, n, length(r))
  end }
end

-- Gain linear between points (sample positions, functions of the rate) and gains.
local function envelope(a, points, gains)
  return derived(a, a._length, function(r, ch)
    local n = #points
    local p, g = ffi.new('int64_t[?]', n), ffi.new('float[?]', n)
    for i = 1, n do p[i - 1], g[i - 1] = points[i](r), gains[i] end
    return C.vs_audio_envelope(a:node(r, ch), p, g, n)
  end)
end

local function const(v) return function() return v end end

local callbacks = {} -- FFI callbacks live as long as the state

local function gain_function(a, fn)
  return derived(a, a._length, function(r, ch)
    local cb = ffi.cast('vs_audio_gain_fn', function(t)
      local ok, v = pcall(fn, t)
      if not ok or type(v) ~= 'number' or v ~= v then
        pending.message = pending.message or (ok and ('volume: the function returned ' .. tostring(v) ..
                                              ' at t=' .. t .. ', not a number') or tostring(v))
        return 0 / 0
      end
      return v
    end)
    callbacks[#callbacks + 1] = cb
    return C.vs_audio_gain_function(a:node(r, ch), r, cb)
  end)
end

local function resampled(a, ratio, length)
  return derived(a, length, function(r, ch)
    return C.vs_audio_resample(a:node(r, ch), ratio, length(r))
  end)
end

---------------------------------------------------------------- operations on sound

local function check_seconds(t, what, name)
  check.number(t, what, name)
  if t < 0 then check.fail('%s: %s must be >= 0, got %g', what, name, t) end
  return t
end

-- The part from t0 to t1 seconds (t1 defaults to the end).
function Audio:trim(t0, t1)
  t1 = t1 == nil and self.duration or t1
  check_seconds(t0, 'audio:trim', 't0')
  check_seconds(t1, 'audio:trim', 't1')
  if t1 <= t0 then check.fail('audio:trim: (%g, %g) is empty; need t0 < t1', t0, t1) end
  local a = self
  return cut(self, function(r) return seconds_sample(t0, r) end,
             function(r) return max(0, min(a:length(r), seconds_sample(t1, r)) - seconds_sample(t0, r)) end)
end

-- Starts `seconds` later (silence first).
function Audio:delay(seconds)
  check_seconds(seconds, 'audio:delay', 'seconds')
  local a = self
  return cut(self, function(r) return -seconds_sample(seconds, r) end,
             function(r) return a:length(r) + seconds_sample(seconds, r) end)
end

-- Plays n times in a row (fractions play part of the last round).
function Audio:loop(n)
  check.number(n, 'audio:loop', 'count')
  if not (n > 0) then check.fail('audio:loop: count must be > 0, got %s', n) end
  local a = self
  local length = function(r) return floor(a:length(r) * n + 0.5) end
  return derived(self, length, function(r, ch)
    return C.vs_audio_loop(a:node(r, ch), length(r), max(1, a:length(r)), 1)
  end)
end

function Audio:reverse()
  local a = self
  return derived(self, self._length, function(r, ch) return C.vs_audio_reverse(a:node(r, ch)) end)
end

-- Plays k times as fast; the pitch follows (tape), or keep_pitch = true keeps it.
function Audio:speed(k, opts)
  check.number(k, 'audio:speed', 'factor')
  if not (k > 0) then check.fail('audio:speed: factor must be > 0, got %s', k) end
  local a = self
  local length = function(r) return ceil(a:length(r) / k - 1e-9) end
  if opts and opts.keep_pitch then return tempo(a, k, length) end
  return resampled(self, k, length)
end

-- Multiplies by v: a number (1 keeps it) or a function of t in seconds.
function Audio:volume(v)
  if type(v) == 'function' then return gain_function(self, v) end
  check.number(v, 'volume', 'gain')
  if v < 0 then check.fail('volume: gain must be >= 0, got %g', v) end
  return envelope(self, { const(0) }, { v })
end

function Audio:fade_in(seconds)
  check_seconds(seconds, 'fade_in', 'seconds')
  return envelope(self, { const(0), function(r) return seconds_sample(seconds, r) end }, { 0, 1 })
end

function Audio:fade_out(seconds)
  check_seconds(seconds, 'fade_out', 'seconds')
  local a = self
  return envelope(self, { function(r) return max(0, a:length(r) - seconds_sample(seconds, r)) end,
                          function(r) return a:length(r) end }, { 1, 0 })
end

---------------------------------------------------------------- for clips (clip.lua)
-- Positions are clip frame numbers at fps num/den, turned into samples by frame_sample.

local M = { is_audio = is_audio, frame_sample = frame_sample }

local function at_frame(k, num, den) return function(r) return frame_sample(k, r, num, den) end end

-- a made to last exactly `frames` frames of a clip (cut or padded with silence).
function M.fit(a, frames, num, den)
  if a == nil then return nil end
  return cut(a, const(0), at_frame(frames, num, den))
end

-- Frames [first, end) of a clip's sound.
function M.trim(a, first, last, num, den)
  if a == nil then return nil end
  return cut(a, at_frame(first, num, den), function(r)
    return frame_sample(last, r, num, den) - frame_sample(first, r, num, den)
  end)
end

-- `d` frames of silence first; lasts frames + d.
function M.delay(a, d, frames, num, den)
  if a == nil then return nil end
  return cut(a, function(r) return -frame_sample(d, r, num, den) end, at_frame(frames + d, num, den))
end

-- A clip of `len` frames looped to `frames`: round i starts where frame i * len does.
function M.loop(a, len, frames, num, den)
  if a == nil then return nil end
  local length = at_frame(frames, num, den)
  return derived(a, length, function(r, ch)
    -- int64 arithmetic: len * rate * den may pass 2^53
    return C.vs_audio_loop(a:node(r, ch), length(r), ffi.new('int64_t', len) * r * den, num)
  end)
end

-- Silence from frame f for `hold` frames, then the rest (the picture is frozen there).
function M.freeze(a, f, hold, frames, num, den)
  if a == nil then return nil end
  local head = M.trim(a, 0, f, num, den)
  local tail = M.trim(a, f, frames, num, den)
  return mix_at({ head, tail }, { const(0), at_frame(f + hold, num, den) }, at_frame(frames + hold, num, den))
end

function M.reverse(a)
  if a == nil then return nil end
  return a:reverse()
end

-- The sound of a clip of n frames played k times as fast, lasting `frames` frames.
function M.speed(a, k, frames, num, den, keep_pitch)
  if a == nil then return nil end
  local length = at_frame(frames, num, den)
  if keep_pitch then return tempo(a, k, length) end
  return resampled(a, k, length)
end

-- Parts {audio or nil, first frame, frames} placed one after another, lasting `total` frames.
function M.sequence(parts, total, num, den)
  local list, starts = {}, {}
  for _, p in ipairs(parts) do
    if p.audio then
      local s = p.start
      starts[#starts + 1] = at_frame(s, num, den)
      -- cut to the part's span in the sequence, which may differ by a sample from its own length
      list[#list + 1] = cut(p.audio, const(0), function(r)
        return frame_sample(s + p.frames, r, num, den) - frame_sample(s, r, num, den)
      end)
    end
  end
  if #list == 0 then return nil end
  return mix_at(list, starts, at_frame(total, num, den))
end

-- a's last m frames cross-fade into b's first m (linear over the same samples as the picture).
function M.crossfade(a, b, na, nb, m, num, den)
  if a == nil and b == nil then return nil end
  local start = na - m
  local parts, starts = {}, {}
  if a then
    parts[#parts + 1] = envelope(a, { at_frame(start, num, den), at_frame(na, num, den) }, { 1, 0 })
    starts[#starts + 1] = const(0)
  end
  if b then
    parts[#parts + 1] = envelope(b, { const(0), function(r)
      return frame_sample(na, r, num, den) - frame_sample(start, r, num, den)
    end }, { 0, 1 })
    starts[#starts + 1] = at_frame(start, num, den)
  end
  return mix_at(parts, starts, at_frame(na + nb - m, num, den))
end

-- Layers' sounds summed over the bottom's length.
function M.overlay(list, frames, num, den)
  local parts, starts = {}, {}
  for _, a in ipairs(list) do
    if a then
      parts[#parts + 1] = a
      starts[#starts + 1] = const(0)
    end
  end
  if #parts == 0 then return nil end
  return mix_at(parts, starts, at_frame(frames, num, den))
end

---------------------------------------------------------------- sources

local function check_duration(d, what)
  if type(d) ~= 'number' or not (d > 0) or d == math.huge then
    check.fail('%s: duration must be a positive number of seconds, got %s', what, d)
  end
  return d
end

-- vs.tone{freq = 440, duration = 2, volume = 0.5}: a sine on every channel.
local function tone(spec)
  if type(spec) ~= 'table' then check.fail('tone: expected {freq=, duration=, volume=}') end
  local freq = check.number(spec.freq or 440, 'tone', 'freq')
  local d = check_duration(spec.duration or 1, 'tone')
  local volume = check.number(spec.volume or 0.5, 'tone', 'volume')
  if not (freq >= 0) then check.fail('tone: freq must be >= 0, got %g', freq) end
  local length = function(r) return seconds_sample(d, r) end
  return new_audio { duration = d, length = length, channels = 1, make = function(r, ch)
    if freq >= r / 2 then
      check.fail('tone: %g Hz is above half the output rate (%d Hz)', freq, r)
    end
    return C.vs_audio_tone(ch, length(r), freq / r, volume)
  end }
end

-- vs.audio{duration=, rate=, channels=, fill = function(buf, n, t0, first) end}: fill writes n
-- samples from sample `first` (at time t0) into buf, a float array of n * channels, interleaved
-- (buf[i * channels + c], i 0..n-1), zeroed on entry. It is called for aligned blocks of 4096
-- samples, in any order, perhaps more than once for a block: make it a function of the sample
-- numbers. At another output rate the result is resampled; mono goes to every channel.
local function generated(spec)
  local d = check_duration(spec.duration, 'audio')
  local rate = check.int(spec.rate or DEFAULT_RATE, 1, 768000, 'audio: rate')
  local channels = check.int(spec.channels or 1, 1, 64, 'audio: channels')
  local fill = spec.fill
  if type(fill) ~= 'function' then check.fail('audio: fill must be a function(buf, n, t0, first)') end
  local own = seconds_sample(d, rate)
  local length = function(r) return r == rate and own or ceil(own * r / rate) end
  return new_audio { duration = own / rate, rate = rate, channels = channels, length = length,
    make = function(r, ch)
      local cb = ffi.cast('vs_audio_fill_fn', function(buf, first, n)
        first = tonumber(first)
        local ok, err = pcall(fill, buf, tonumber(n), first / rate, first)
        if not ok then
          pending.message = pending.message or tostring(err)
          return -1
        end
        return 0
      end)
      callbacks[#callbacks + 1] = cb
      local node = C.vs_audio_fill(ch, channels, own, cb)
      if node == nil or r == rate then return node end
      node = ffi.gc(node, C.vs_audio_free)
      return C.vs_audio_resample(node, rate / r, length(r))
    end }
end

-- libavfilter's atempo (a well-kept WSOLA time-stretcher) rather than one of our own.
tempo = function(a, k, length)
  if not (k >= 0.01 and k <= 100) then check.fail('speed: keep_pitch takes factors 0.01..100, got %g', k) end
  return derived(a, length, function(r, ch)
    return C.vs_audio_tempo(a:node(r, ch), r, k, length(r))
  end)
end

-- Rate, channels and duration of a file's first audio stream, from the probe (cached for videos;
-- a sound file's packets are counted, nothing is decoded).
local function probe_audio(path, what, info)
  if not info then
    info = ffi.new('vs_probe_info')
    core.check(C.vs_probe_audio(path, 1, info), what)
  end
  if info.audio_streams < 1 then check.fail('%s: %s: has no audio stream', what, path) end
  return info.audio_rate, info.audio_channels, info.audio_duration
end

-- A file's first audio stream, decoded only when the sound is read, in the state that reads it.
function M.file(path, what, info)
  if type(path) ~= 'string' or path == '' then check.fail('%s: path must be a non-empty string', what) end
  local rate, channels, duration = probe_audio(path, what, info)
  local a
  a = new_audio { duration = duration, rate = rate, channels = channels,
    length = function(r)
      for key, n in pairs(a._nodes) do
        if key:match('^(%d+):') == tostring(r) then return tonumber(C.vs_audio_length(n)) end
      end
      return tonumber(C.vs_audio_length(a:node(r, DEFAULT_CHANNELS)))
    end,
    make = function(r, ch) return C.vs_audio_file(path, r, ch) end }
  a.path = path
  return a
end

-- The sound of a video file, or nil when it has none (vs.video's v.audio).
function M.of_video(path, info)
  if info.audio_streams < 1 then return nil end
  return M.file(path, 'video', info)
end

function M.install(vs)
  vs.Audio = Audio
  vs.is_audio = is_audio
  vs.tone = tone

  -- vs.audio(path): a file's first audio stream; vs.audio{...}: a generated sound.
  function vs.audio(spec)
    if type(spec) == 'string' then return M.file(spec, 'audio') end
    if type(spec) == 'table' then return generated(spec) end
    check.fail('audio: expected a path or {duration=, rate=, channels=, fill=}, got %s', type(spec))
  end

  -- vs.mix{a, b, ...}: the sum, as long as the longest.
  function vs.mix(list)
    if type(list) ~= 'table' or #list < 1 then check.fail('mix: expected a list of sounds') end
    local starts = {}
    for i, a in ipairs(list) do
      check_audio(a, 'mix')
      starts[i] = const(0)
    end
    return mix_at(list, starts, function(r)
      local n = 0
      for _, a in ipairs(list) do n = max(n, a:length(r)) end
      return n
    end)
  end
end

M.check_audio = check_audio

-- For the render engine (src/render.c): a function(first, n, buffer) writing the clip's samples
-- [first, first + n) into a float buffer of n * channels, raising a fill or gain function's error.
function M.puller(clip, rate, channels)
  local node = clip.audio:node(rate, channels)
  return function(first, n, ptr) read(node, first, n, ffi.cast('float*', ptr)) end
end
return M
