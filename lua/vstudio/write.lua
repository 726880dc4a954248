-- write.lua: vs.write(path, opts) -> a writer for scripts that produce frames
-- in a loop (the seeds' write_frames_to_video):
--
--   local w = vs.write('out.mp4', {fps = 25, crf = 18})
--   for i = 1, 100 do w:push(frame) end
--   w:close()
--
-- The encoder opens at the first push (the size comes from the first
-- frame). Closing twice is harmless; a writer dropped without :close()
-- is aborted by the GC and leaves no output file (only a private
-- temporary ever existed, and it is removed; an image sequence's frames
-- go too); :abort() does the same on purpose. An image folder that holds
-- another render's frames is refused unless force = true. After a
-- failed push, push and close raise again (saying why) rather than let a
-- pcall'd loop believe the file exists.
-- Errors read 'vstudio: write: PATH[: frame N]: why'.
--
-- Sound: `audio = a` (vs.audio, vs.tone, clip.audio) writes a's samples beside the frames,
-- frame k's share [s(k), s(k + 1)) with every push (s(k) = floor(k * rate / fps)), so picture
-- and sound stay in sync, with a's channels (at most 8) unless audio_channels = N; or
-- audio_rate = N (audio_channels, default 2) opens an audio stream
-- that w:push_audio(samples[, n]) fills: a table of interleaved numbers or a float array of n
-- samples. audio_codec and audio_bitrate as `vstudio run`'s options.
local ffi = require 'ffi'
local core = require 'vstudio.core'
local check = require 'vstudio.check'
local sound = require 'vstudio.audio'
local C = core.C

local Writer = {}
Writer.__index = Writer

local option_names = {
  fps = true, crf = true, preset = true, codec = true, bitrate = true, pix_fmt = true, gop = true,
  options = true, title = true, comment = true, artist = true, format = true, threads = true, quality = true,
  force = true, alpha = true, audio = true, audio_rate = true, audio_channels = true, audio_codec = true,
  audio_bitrate = true,
}

local M = {}

-- Fills a vs_encoder_options from a Lua table (vs.write's and vs.render's
-- options); the strings stay referenced by `keep` for as long as the
-- options are used.
function M.encoder_options(path, opts)
  local o = ffi.new('vs_encoder_options')
  C.vs_encoder_options_init(o)
  local keep = {}
  local function str(name)
    local v = opts[name]
    if v == nil then return nil end
    if type(v) ~= 'string' then
      check.fail('write: %s: %s must be a string, got %s', path, name, type(v))
    end
    keep[#keep + 1] = v
    return v
  end
  for k in pairs(opts) do
    if not option_names[k] then
      check.fail("write: %s: unknown option '%s'", path, k)
    end
  end
  if opts.fps ~= nil then
    local num, den = ffi.new('int[1]'), ffi.new('int[1]')
    if C.vs_parse_rational(tostring(opts.fps), num, den) < 0 then
      check.fail('write: %s: fps %s: %s', path, opts.fps, ffi.string(C.vs_last_error()))
    end
    o.fps_num, o.fps_den = num[0], den[0]
  end
  if opts.crf ~= nil then
    if type(opts.crf) ~= 'number' or opts.crf < 0 or opts.crf > 63 or opts.crf % 1 ~= 0 then
      check.fail('write: %s: crf must be an integer 0..63, got %s', path, opts.crf)
    end
    o.crf = opts.crf
  end
  for _, name in ipairs { 'gop', 'threads', 'quality' } do
    local v = opts[name]
    if v ~= nil then
      if type(v) ~= 'number' or v < 0 or v % 1 ~= 0 then
        check.fail('write: %s: %s must be a non-negative integer', path, name)
      end
      o[name] = v
    end
  end
  if opts.bitrate ~= nil then
    -- a number of bits/s, or a string with a k/M suffix as in ffmpeg ('5M')
    local b = opts.bitrate
    if type(b) == 'string' then
      local n, unit = b:match('^(%d+%.?%d*)([kKmM]?)$')
      b = n and tonumber(n) * (({ k = 1e3, K = 1e3, m = 1e6, M = 1e6 })[unit] or 1)
    end
    if type(b) ~= 'number' or b <= 0 or b ~= b or b == math.huge then
      check.fail("write: %s: bitrate must be bits/s (5000000 or '5M'), got %s", path, opts.bitrate)
    end
    o.bit_rate = math.floor(b)
  end
  for _, name in ipairs { 'force', 'alpha' } do
    if opts[name] ~= nil then
      if type(opts[name]) ~= 'boolean' then
        check.fail('write: %s: %s must be a boolean', path, name)
      end
      o[name] = opts[name] and 1 or 0
    end
  end
  o.format, o.codec, o.preset, o.pix_fmt = str('format'), str('codec'), str('preset'), str('pix_fmt')
  o.codec_options, o.title, o.comment, o.artist = str('options'), str('title'), str('comment'), str('artist')
  o.audio_codec = str('audio_codec')
  if opts.audio ~= nil then sound.check_audio(opts.audio, 'write: ' .. path .. ': audio') end
  if opts.audio_rate ~= nil then
    o.audio_rate = check.int(opts.audio_rate, 8000, 384000, 'write: ' .. path .. ': audio_rate')
  end
  if opts.audio_channels ~= nil then
    o.audio_channels = check.int(opts.audio_channels, 1, C.VS_MAX_CHANNELS, 'write: ' .. path .. ': audio_channels')
  end
  if opts.audio_bitrate ~= nil then
    o.audio_bit_rate = check.int(opts.audio_bitrate, 1000, 10e6, 'write: ' .. path .. ': audio_bitrate')
  end
  return o, keep
end

-- After a failed push the writer is finished: later calls repeat why.
local function failed(self)
  check.fail('write: %s: nothing written, an earlier push failed: %s', self.path, self.failed)
end

function Writer:push(frame)
  if self.failed then failed(self) end
  if self.closed then check.fail('write: %s: push after close', self.path) end
  if not ffi.istype('vs_frame*', frame) and not ffi.istype('vs_frame', frame) then
    check.fail('write: %s: frame %d: push expects a frame, got %s', self.path, self.count, type(frame))
  end
  if not self.enc then
    local enc = C.vs_encoder_open(self.path, frame.width, frame.height, self.options)
    if enc == nil then
      local msg = ffi.string(C.vs_last_error())
      self.closed, self.failed = true, msg
      check.fail('write: %s', msg)
    end
    self.enc = ffi.gc(enc, C.vs_encoder_abort)
  end
  if C.vs_encoder_push(self.enc, frame) < 0 then
    local msg = ffi.string(C.vs_last_error())
    self:abort()
    self.failed = msg
    check.fail('write: %s', msg)
  end
  if self.audio then self:_push_frame_sound(self.count) end
  self.count = self.count + 1
  return self
end

-- Frame k's share of the `audio =` sound, clipped to [-1, 1] as the render writes it.
function Writer:_push_frame_sound(k)
  local o = self.options
  local rate, ch = o.audio_rate, o.audio_channels
  local num, den = o.fps_num > 0 and o.fps_num or 30, o.fps_den > 0 and o.fps_den or 1
  local first = sound.frame_sample(k, rate, num, den)
  local n = sound.frame_sample(k + 1, rate, num, den) - first
  local samples = self.audio:samples(first, n, { rate = rate, channels = ch })
  for i = 1, #samples do samples[i] = math.max(-1, math.min(1, samples[i])) end
  self:push_audio(samples, n)
end

-- Appends samples to the audio stream: a table of interleaved numbers (n: #samples / channels)
-- or a float array of n samples.
function Writer:push_audio(samples, n)
  if self.failed then failed(self) end
  if self.closed then check.fail('write: %s: push_audio after close', self.path) end
  local ch = self.options.audio_channels
  if self.options.audio_rate == 0 then
    check.fail('write: %s: push_audio needs an audio stream: give audio_rate = 48000 (or audio =) to vs.write',
               self.path)
  end
  if not self.enc then check.fail('write: %s: push a frame first (it opens the file)', self.path) end
  local buf = samples
  if type(samples) == 'table' then
    n = n or math.floor(#samples / ch)
    if #samples ~= n * ch then
      check.fail('write: %s: push_audio: %d numbers are not %d samples of %d channels', self.path, #samples, n, ch)
    end
    buf = ffi.new('float[?]', math.max(1, n * ch))
    for i = 1, n * ch do buf[i - 1] = samples[i] end
  elseif type(samples) ~= 'cdata' or type(n) ~= 'number' then
    check.fail('write: %s: push_audio expects a table of numbers or a float array and a count', self.path)
  end
  if C.vs_encoder_push_audio(self.enc, buf, n) < 0 then
    local msg = ffi.string(C.vs_last_error())
    self:abort()
    self.failed = msg
    check.fail('write: %s', msg)
  end
  return self
end

-- Gives up: no output file is left (the .part is removed).
function Writer:abort()
  if self.enc then
    local enc = ffi.gc(self.enc, nil)
    self.enc = nil
    C.vs_encoder_abort(enc)
  end
  self.closed = true
end

function Writer:close()
  if self.failed then failed(self) end
  if self.closed then return self.count end
  self.closed = true
  if not self.enc then
    check.fail('write: %s: no frames were pushed; nothing written', self.path)
  end
  local enc = ffi.gc(self.enc, nil)
  self.enc = nil
  if C.vs_encoder_close(enc) < 0 then
    self.failed = ffi.string(C.vs_last_error())
    check.fail('write: %s', self.failed)
  end
  return self.count
end

function Writer:__tostring()
  return string.format('writer %s (%d frames%s)', self.path, self.count, self.closed and ', closed' or '')
end

function M.install(vs)
  function vs.write(path, opts)
    if type(path) ~= 'string' or path == '' then check.fail('write: path must be a non-empty string') end
    if opts ~= nil and type(opts) ~= 'table' then check.fail('write: options must be a table') end
    opts = opts or {}
    local o, keep = M.encoder_options(path, opts)
    -- an audio stream: 48 kHz unless asked, with the sound's own channels (as vs_sound_channels
    -- keeps them, at most 8), or stereo for push_audio
    if opts.audio ~= nil or opts.audio_rate ~= nil or opts.audio_channels ~= nil then
      if o.audio_rate == 0 then o.audio_rate = 48000 end
      if o.audio_channels == 0 then o.audio_channels = opts.audio and C.vs_sound_channels(opts.audio.channels) or 2 end
    end
    return setmetatable({ path = path, options = o, keep = keep, count = 0, closed = false,
                          audio = opts and opts.audio }, Writer)
  end
end

return M
