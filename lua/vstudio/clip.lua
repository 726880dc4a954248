-- clip.lua: clips, the unit of composition and of rendering.
--
-- A clip is a table with `size` ({w, h}), `width`, `height`, `fps` (a number),
-- `fps_num`/`fps_den` (the exact rate), `frames` (count) and `duration`
-- (frames / fps, seconds), and one method the engine calls:
--
--   clip:render(k, frame)  draws frame k (0-based) into `frame`, an engine-
--                          owned buffer of the clip's size (opaque black on
--                          entry), valid only during the call.
--
-- Time is exact: frame k of a clip is at t = k * fps_den / fps_num seconds,
-- and every operation maps an output frame number to a source frame number
-- with integer arithmetic (times given in seconds are turned into frame
-- numbers once, at construction), so chains of operations never drift.
--
-- Operations return new clips; they are plain tables and closures, rebuilt
-- in each render worker by re-running the script, and share nothing across
-- states. An operation that needs an intermediate frame (crop, resize,
-- overlay, crossfade, ...) keeps one scratch frame per clip per Lua state,
-- allocated on first use: a worker renders from one thread, so this is safe.
local ffi = require 'ffi'
local core = require 'vstudio.core'
local check = require 'vstudio.check'
local ease = require 'vstudio.ease'
local draw = require 'vstudio.draw'
local sound = require 'vstudio.audio'

local C = core.C
local floor, ceil, max, min = math.floor, math.ceil, math.max, math.min

local Clip = {}
Clip.__index = Clip

local EPS = 1e-9

local function check_size(size, what)
  if type(size) ~= 'table' or type(size[1]) ~= 'number' or type(size[2]) ~= 'number' then
    check.fail('%s: size must be {width, height} with positive integers', what)
  end
  check.int(size[1], 1, core.MAX_SIDE, what .. ': width')
  check.int(size[2], 1, core.MAX_SIDE, what .. ': height')
end

-- fps as a number or a string ("30000/1001", "29.97") -> num, den, by the C
-- parser's rules (vs_parse_rational: decimals of the NTSC rates, also
-- 30000/1001 computed here, are x000/1001), so a rate means the same in
-- the Lua API and on the command line.
local function rational_fps(fps)
  if type(fps) == 'number' then
    if not (fps > 0 and fps < 1e6) then check.fail('fps must be above 0 and below 1000000, got %s', fps) end
  elseif type(fps) ~= 'string' then
    check.fail('fps must be a number or "N/D", got %s', fps)
  end
  local num, den = ffi.new('int[1]'), ffi.new('int[1]')
  if C.vs_parse_rational(tostring(fps), num, den) < 0 then
    check.fail('fps must be a number or "N/D": %s', ffi.string(C.vs_last_error()))
  end
  return num[0], den[0]
end

-- A new clip of the given size and rate with `frames` frames; used by every
-- clip constructor. `render` is the clip's frame function. Frame numbers
-- stay exact integers in C (int64) and in Lua: a count past the limit (a
-- 1e12 s clip, a loop of a billion rounds) is refused, not rendered until killed.
local function new_clip(size, fps_num, fps_den, frames, render)
  if not (frames <= core.MAX_FRAMES) then
    check.fail('a clip of %.17g frames (%.6g s at %.6g fps) is longer than the limit of %d frames',
               frames, frames * fps_den / fps_num, fps_num / fps_den, core.MAX_FRAMES)
  end
  return setmetatable({
    size = { size[1], size[2] }, width = size[1], height = size[2],
    fps = fps_num / fps_den, fps_num = fps_num, fps_den = fps_den,
    frames = frames, duration = frames * fps_den / fps_num,
    render = render,
  }, Clip)
end

-- A clip made from `parent` by an operation: same rate, keeps its position
-- in an overlay (clip:at) and its sound (operations that move time replace it).
local function derive(parent, size, frames, render)
  local c = new_clip(size, parent.fps_num, parent.fps_den, frames, render)
  c.pos = parent.pos
  c.audio = parent.audio
  return c
end

local function is_clip(c)
  return type(c) == 'table' and type(c.render) == 'function' and type(c.frames) == 'number' and
         type(c.fps_num) == 'number'
end

local function check_clip(c, what)
  if not is_clip(c) then check.fail('%s: expected a clip, got %s', what, type(c)) end
  return c
end

local function same_rate(a, b)
  return a.fps_num * b.fps_den == b.fps_num * a.fps_den
end

-- "30", "29.97", "23.976": what people call the rate.
local function rate_str(c)
  return c.fps_den == 1 and tostring(c.fps_num) or string.format('%.5g', c.fps_num / c.fps_den)
end

-- "30" or "30000/1001": the exact rate, for errors about rates that differ.
local function rate_exact(c)
  return c.fps_den == 1 and tostring(c.fps_num) or (c.fps_num .. '/' .. c.fps_den)
end

-- A frame the clip owns for intermediate results, one per Lua state.
local function scratch_of(holder, w, h)
  local f = holder.frame
  if f == nil or f.width ~= w or f.height ~= h then
    f = core.frame(w, h)
    holder.frame = f
  end
  return f
end

-- Renders clip c's frame k into a scratch frame (opaque black first, as the
-- protocol promises) and returns it.
local function render_into_scratch(holder, c, k)
  local f = scratch_of(holder, c.width, c.height)
  C.vs_frame_fill(f, 0, 0, 0, 255)
  c:render(k, f)
  return f
end

-- The time in seconds of frame k.
function Clip:time_of(k)
  return k * self.fps_den / self.fps_num
end

-- The frame number shown at time t (seconds): the last frame starting at
-- or before t (a tiny tolerance absorbs binary fractions: 4.2 s at 10 fps is
-- frame 42, not 41).
function Clip:frame_index(t)
  return floor(t * self.fps_num / self.fps_den + EPS)
end

-- The frame shown at time t (seconds), rendered into a new frame.
function Clip:frame_at(t)
  if type(t) ~= 'number' then check.fail('frame_at: t must be a number of seconds') end
  local k = self:frame_index(t)
  if k < 0 or k >= self.frames then
    check.fail('frame_at: t=%g is outside the clip (0 <= t < %g s)', t, self.duration)
  end
  local frame = core.frame(self.width, self.height):fill(0, 0, 0, 255)
  self:render(k, frame)
  return frame
end

-- Frame k (0-based) rendered into a new frame.
function Clip:frame(k)
  if type(k) ~= 'number' or k % 1 ~= 0 or k < 0 or k >= self.frames then
    check.fail('frame: index must be an integer in 0..%d, got %s', self.frames - 1, k)
  end
  local frame = core.frame(self.width, self.height):fill(0, 0, 0, 255)
  self:render(k, frame)
  return frame
end

function Clip:__tostring()
  -- as the REPL prints it: clip 1280x720 30fps 10s
  return string.format('clip %dx%d %sfps %gs', self.width, self.height, rate_str(self), self.duration)
end

---------------------------------------------------------------- time

-- Plays k times as fast (k > 0): output frame j shows source frame floor(j*k).
-- speed() of a speed() clip is one speed() of the product over the original
-- source, so chains like :speed(1.1):speed(1/1.1) do not drift.
function Clip:speed(k, opts)
  check.number(k, 'speed', 'factor')
  if opts ~= nil and type(opts) ~= 'table' then check.fail('speed: options must be a table {keep_pitch=}') end
  if not (k > 0) then check.fail('speed: factor must be > 0 (use reverse() to play backwards), got %s', k) end
  local src = self
  if self._speed then
    src, k = self._speed.src, self._speed.k * k
    if math.abs(k - 1) < 1e-12 then k = 1 end
  end
  local n = src.frames
  local frames = ceil(n / k - EPS)
  if frames < 1 then check.fail('speed: factor %g leaves no frame of %d (max %d)', k, n, n) end
  local c = derive(self, self.size, frames, function(_, j, frame)
    return src:render(min(n - 1, floor(j * k + EPS)), frame)
  end)
  c._speed = { src = src, k = k }
  c.audio = sound.speed(src.audio, k, frames, src.fps_num, src.fps_den, opts and opts.keep_pitch)
  return c
end

-- Frame k becomes frame n-1-k.
function Clip:reverse()
  local n, src = self.frames, self
  local c = derive(self, self.size, n, function(_, k, frame) return src:render(n - 1 - k, frame) end)
  c.audio = sound.reverse(self.audio)
  return c
end

-- The part from t0 to t1 seconds (t1 defaults to the end): the frames whose
-- time lies in [t0, t1).
function Clip:trim(t0, t1)
  t1 = t1 == nil and self.duration or t1
  check.number(t0, 'trim', 't0')
  check.number(t1, 'trim', 't1')
  local a = floor(t0 * self.fps_num / self.fps_den + EPS)
  local b = min(self.frames, ceil(t1 * self.fps_num / self.fps_den - EPS))
  if t0 < 0 or t1 > self.duration + EPS or b - a < 1 then
    check.fail('trim: (%g, %g) is outside the clip or empty; need 0 <= t0 < t1 <= %g', t0, t1, self.duration)
  end
  local src = self
  local c = derive(self, self.size, b - a, function(_, k, frame) return src:render(a + k, frame) end)
  c.audio = sound.trim(self.audio, a, b, self.fps_num, self.fps_den)
  return c
end

-- Plays n times in a row (n > 0; fractions play part of the last round).
function Clip:loop(n)
  check.number(n, 'loop', 'count')
  local frames = floor(self.frames * n + 0.5)
  if not (n > 0) or frames < 1 then check.fail('loop: count must be > 0, got %s', n) end
  local len, src = self.frames, self
  local c = derive(self, self.size, frames, function(_, k, frame) return src:render(k % len, frame) end)
  c.audio = sound.loop(self.audio, len, frames, self.fps_num, self.fps_den)
  return c
end

-- Remaps time through an easing function on [0, 1] (or its name): output
-- frame j of n shows source frame round(fn(j / (n-1)) * (n-1)), clamped.
function Clip:ease(fn)
  fn = ease.resolve(fn, 'ease')
  local n, src = self.frames, self
  return derive(self, self.size, n, function(_, j, frame)
    if n == 1 then return src:render(0, frame) end
    local s = floor(fn(j / (n - 1)) * (n - 1) + 0.5)
    return src:render(max(0, min(n - 1, s)), frame)
  end)
end

-- Holds the frame shown at t for `seconds`, then plays on.
function Clip:freeze(t, seconds)
  check.number(t, 'freeze', 't')
  check.number(seconds, 'freeze', 'seconds')
  if t < 0 or t > self.duration + EPS then
    check.fail('freeze: t=%g is outside the clip (0..%g s)', t, self.duration)
  end
  local hold = floor(seconds * self.fps_num / self.fps_den + 0.5)
  if not (seconds > 0) or hold < 1 then
    check.fail('freeze: seconds must be at least one frame (%g s), got %g', 1 / self.fps, seconds)
  end
  local f = min(self.frames - 1, self:frame_index(t))
  local src = self
  local c = derive(self, self.size, self.frames + hold, function(_, k, frame)
    if k < f then return src:render(k, frame) end
    if k < f + hold then return src:render(f, frame) end
    return src:render(k - hold, frame)
  end)
  c.audio = sound.freeze(self.audio, f, hold, self.frames, self.fps_num, self.fps_den)
  return c
end

-- The same clip at another frame rate: output frame j shows the source
-- frame on screen at time j / fps (frames repeat or drop; duration kept).
function Clip:with_fps(fps)
  local num, den = rational_fps(fps)
  local src = self
  local frames = floor(self.frames * self.fps_den * num / (self.fps_num * den) + 0.5)
  if frames < 1 then check.fail('with_fps: %s fps leaves no frame', fps) end
  local c = new_clip(self.size, num, den, frames, function(_, j, frame)
    local k = floor(j * den * src.fps_num / (num * src.fps_den) + EPS)
    return src:render(min(src.frames - 1, k), frame)
  end)
  c.pos = self.pos
  c.audio = sound.fit(self.audio, frames, num, den)
  return c
end

-- Starts `seconds` later: transparent frames first (in an overlay the clip
-- appears at that time).
function Clip:delay(seconds)
  check.number(seconds, 'delay', 'seconds')
  local d = floor(seconds * self.fps_num / self.fps_den + 0.5)
  if seconds < 0 then check.fail('delay: seconds must be >= 0, got %s', seconds) end
  local src = self
  local c = derive(self, self.size, self.frames + d, function(_, k, frame)
    if k < d then return C.vs_frame_fill(frame, 0, 0, 0, 0) end
    return src:render(k - d, frame)
  end)
  c.audio = sound.delay(self.audio, d, self.frames, self.fps_num, self.fps_den)
  return c
end

---------------------------------------------------------------- sound

-- The clip with sound a (vs.audio, vs.tone, another clip's .audio), cut or padded with
-- silence to the clip's length; nil removes the sound.
function Clip:with_audio(a)
  if a ~= nil then sound.check_audio(a, 'with_audio') end
  local src = self
  local c = derive(self, self.size, self.frames, function(_, k, frame) return src:render(k, frame) end)
  c.audio = sound.fit(a, self.frames, self.fps_num, self.fps_den)
  return c
end

function Clip:mute()
  return self:with_audio(nil)
end

-- The sound's volume times v, a number or a function of t (seconds); no sound stays none.
function Clip:volume(v)
  local src = self
  local c = derive(self, self.size, self.frames, function(_, k, frame) return src:render(k, frame) end)
  if type(v) ~= 'function' then check.number(v, 'volume', 'gain') end
  if self.audio then c.audio = self.audio:volume(v) end
  return c
end

---------------------------------------------------------------- sequences

-- Plays clips one after another; each keeps its own frames. All clips need
-- the same size and frame rate.
local function sequence(list, what)
  if type(list) ~= 'table' or #list < 1 then
    check.fail('%s: expected a list of clips', what)
  end
  local parts = {}
  for i, c in ipairs(list) do
    check_clip(c, what)
    local first = parts[1] and parts[1].clip or c
    if c.width ~= first.width or c.height ~= first.height then
      check.fail('%s: clip %d is %dx%d, the first is %dx%d (resize it first)', what, i, c.width, c.height,
                 first.width, first.height)
    end
    if not same_rate(c, first) then
      check.fail('%s: clip %d is %s fps, the first is %s fps (all must match)', what, i, rate_exact(c),
                 rate_exact(first))
    end
    -- flatten nested sequences so a frame is found by one binary search
    if c._parts then
      for _, p in ipairs(c._parts) do parts[#parts + 1] = { clip = p.clip } end
    else
      parts[#parts + 1] = { clip = c }
    end
  end
  local total = 0
  for _, p in ipairs(parts) do
    p.start = total
    total = total + p.clip.frames
  end
  local first = parts[1].clip
  local seq = new_clip(first.size, first.fps_num, first.fps_den, total, function(_, k, frame)
    local lo, hi = 1, #parts
    while lo < hi do
      local mid = floor((lo + hi + 1) / 2)
      if parts[mid].start <= k then lo = mid else hi = mid - 1 end
    end
    local p = parts[lo]
    return p.clip:render(k - p.start, frame)
  end)
  seq._parts = parts
  local spans = {}
  for i, p in ipairs(parts) do spans[i] = { audio = p.clip.audio, start = p.start, frames = p.clip.frames } end
  seq.audio = sound.sequence(spans, total, first.fps_num, first.fps_den)
  return seq
end

function Clip.__concat(a, b)
  check_clip(a, 'a .. b')
  check_clip(b, 'a .. b')
  return sequence({ a, b }, 'a .. b')
end

-- Plays b over the last `seconds` of a, fading from a to b; the result
-- lasts a + b - seconds. At overlap frame i of m, b's weight is i / m.
local function crossfade(a, b, seconds, what)
  check_clip(a, what)
  check_clip(b, what)
  if a.width ~= b.width or a.height ~= b.height then
    check.fail('%s: clips are %dx%d and %dx%d (sizes must match)', what, a.width, a.height, b.width, b.height)
  end
  if not same_rate(a, b) then
    check.fail('%s: clips are %s and %s fps (rates must match)', what, rate_exact(a), rate_exact(b))
  end
  check.number(seconds, what, 'seconds')
  local m = floor(seconds * a.fps_num / a.fps_den + 0.5)
  local limit = min(a.frames, b.frames)
  if not (seconds > 0) or m < 1 or m > limit then
    check.fail('%s: seconds must be in (0, %g] (one frame up to the shorter clip), got %g', what,
               limit * a.fps_den / a.fps_num, seconds)
  end
  local na = a.frames
  local start = na - m
  local hold = {}
  local c = new_clip(a.size, a.fps_num, a.fps_den, na + b.frames - m, function(_, k, frame)
    if k < start then return a:render(k, frame) end
    if k >= na then return b:render(k - start, frame) end
    local i = k - start
    a:render(k, frame)
    local fb = render_into_scratch(hold, b, i)
    C.vs_frame_mix(frame, frame, fb, i / m)
  end)
  c.audio = sound.crossfade(a.audio, b.audio, na, b.frames, m, a.fps_num, a.fps_den)
  return c
end

---------------------------------------------------------------- space

-- The w x h rectangle at (x, y) of every frame.
function Clip:crop(spec)
  if type(spec) ~= 'table' then check.fail('crop: expected {x=, y=, w=, h=}') end
  local x, y = spec.x or spec[1] or 0, spec.y or spec[2] or 0
  local w, h = spec.w or spec[3] or (self.width - x), spec.h or spec[4] or (self.height - y)
  for name, v in pairs { x = x, y = y, w = w, h = h } do
    if type(v) ~= 'number' or v % 1 ~= 0 then check.fail('crop: %s must be an integer, got %s', name, v) end
  end
  if x < 0 or y < 0 or w < 1 or h < 1 or x + w > self.width or y + h > self.height then
    check.fail('crop: {x=%d, y=%d, w=%d, h=%d} is outside the %dx%d clip', x, y, w, h, self.width, self.height)
  end
  local src, hold = self, {}
  return derive(self, { w, h }, self.frames, function(_, k, frame)
    local f = render_into_scratch(hold, src, k)
    C.vs_frame_copy_region(frame, 0, 0, f, x, y, w, h)
  end)
end

-- Resized to {w, h}, {w=} or {h=} (the other side keeps the aspect ratio),
-- or by a scale factor: clip:resize(0.5).
function Clip:resize(spec)
  local w, h
  if type(spec) == 'number' then
    if not (spec > 0) then check.fail('resize: scale must be > 0, got %s', spec) end
    w, h = floor(self.width * spec + 0.5), floor(self.height * spec + 0.5)
  elseif type(spec) == 'table' then
    w, h = spec.w or spec[1], spec.h or spec[2]
    if w == nil and type(h) == 'number' then w = floor(self.width * h / self.height + 0.5) end
    if h == nil and type(w) == 'number' then h = floor(self.height * w / self.width + 0.5) end
  end
  if type(w) ~= 'number' or type(h) ~= 'number' or w % 1 ~= 0 or h % 1 ~= 0 or w < 1 or h < 1 or
     w > 32768 or h > 32768 then
    check.fail('resize: expected {w, h} with integers in 1..32768, {w=}, {h=} or a scale factor, got %sx%s', w, h)
  end
  local src, hold = self, {}
  if w == self.width and h == self.height then
    return derive(self, { w, h }, self.frames, function(_, k, frame) return src:render(k, frame) end)
  end
  local scaler -- weights and buffers made once per Lua state
  return derive(self, { w, h }, self.frames, function(_, k, frame)
    local f = render_into_scratch(hold, src, k)
    if not scaler then
      scaler = ffi.gc(core.check(C.vs_scaler_new(src.width, src.height, w, h), 'resize'), C.vs_scaler_free)
    end
    core.check(C.vs_scaler_run(scaler, frame, f), 'resize')
  end)
end

local function coord(v, what)
  if type(v) == 'number' or type(v) == 'function' or v == 'center' or v == 'left' or v == 'right' or
     v == 'top' or v == 'bottom' then
    return v
  end
  check.fail('at: %s must be a number, a function of t or "center"/"left"/"right"/"top"/"bottom", got %s', what, v)
end

-- Where the clip's top-left corner goes inside an overlay: numbers,
-- functions of the clip's time t (motion), or "center", "left", ...
function Clip:at(x, y)
  local src = self
  local c = derive(self, self.size, self.frames, function(_, k, frame) return src:render(k, frame) end)
  c.pos = { coord(x, 'x'), coord(y == nil and 0 or y, 'y') }
  return c
end

-- Multiplies the clip's alpha by a (a number in [0, 1] or a function of t);
-- takes effect where the clip is composited (overlay).
function Clip:opacity(a)
  if type(a) == 'number' then
    if not (a >= 0 and a <= 1) then check.fail('opacity: must be in [0, 1], got %s', a) end
  elseif type(a) ~= 'function' then
    check.fail('opacity: must be a number in [0, 1] or a function of t, got %s', type(a))
  end
  local src, num, den = self, self.fps_num, self.fps_den
  return derive(self, self.size, self.frames, function(_, k, frame)
    src:render(k, frame)
    local v = a
    if type(a) == 'function' then v = a(k * den / num) end
    if type(v) ~= 'number' or v ~= v then error('vstudio: opacity: the function returned ' .. tostring(v) .. ', not a number') end
    C.vs_frame_mul_alpha(frame, max(0, min(1, v)))
  end)
end

-- Fades over the first (fade_in) or last (fade_out) `seconds`: from or to
-- transparent (the default; shown over black when rendered alone, as the
-- encoder shows transparency), or through a colour (to = 'black' or any
-- colour; every channel, alpha too, is mixed with it). At fade frame i of m
-- the picture's weight is i / m.
local function fade(self, seconds, to, what, at_start)
  check.number(seconds, what, 'seconds')
  local m = floor(seconds * self.fps_num / self.fps_den + 0.5)
  if not (seconds > 0) or m < 1 or m > self.frames then
    check.fail('%s: seconds must be in (0, %g] (one frame up to the clip), got %g', what, self.duration, seconds)
  end
  local color
  if to ~= nil and to ~= 'transparent' then color = { check.color(to == 'black' and 0 or to, what) } end
  local src, n, hold = self, self.frames, {}
  return derive(self, self.size, n, function(_, k, frame)
    src:render(k, frame)
    local i = at_start and k or n - 1 - k
    if i >= m then return end
    if not color then return C.vs_frame_mul_alpha(frame, i / m) end
    local solid = scratch_of(hold, frame.width, frame.height)
    if hold.color ~= color then
      C.vs_frame_fill(solid, color[1], color[2], color[3], color[4])
      hold.color = color
    end
    C.vs_frame_mix(frame, solid, frame, i / m)
  end)
end

function Clip:fade_in(seconds, to) return fade(self, seconds, to, 'fade_in', true) end
function Clip:fade_out(seconds, to) return fade(self, seconds, to, 'fade_out', false) end

-- Per-frame effect: fn(frame, t) edits the rendered frame in place (or
-- returns a new frame of the same size).
function Clip:map(fn)
  if type(fn) ~= 'function' then check.fail('map: expected a function(frame, t)') end
  local src, num, den = self, self.fps_num, self.fps_den
  return derive(self, self.size, self.frames, function(_, k, frame)
    src:render(k, frame)
    local out = fn(frame, k * den / num)
    if out ~= nil and out ~= frame and type(out) == 'cdata' and C.vs_frame_copy_into(frame, out) ~= 0 then
      -- name the function's own line: the error surfaces far from the script
      local info = debug.getinfo(fn, 'S')
      error(string.format('%s:%d: map: the function returned a %dx%d frame for a %dx%d clip (draw into the ' ..
                          'frame it gets, or return one of its size)', info.short_src, info.linedefined,
                          out.width, out.height, frame.width, frame.height), 0)
    end
  end)
end

local function place(v, outer, inner, t, low, high)
  if type(v) == 'function' then v = v(t) end
  if v == 'center' then return floor((outer - inner) / 2)
  elseif v == low then return 0
  elseif v == high then return outer - inner end
  if type(v) ~= 'number' or v ~= v then
    error('vstudio: at: the position function returned ' .. tostring(v) .. ', not a number')
  end
  return floor(v + 0.5)
end

-- Composites clips over the first (bottom): each at its position (clip:at,
-- default top-left), straight-alpha "over"; the result has the bottom's
-- size and duration; shorter clips show while they last.
local function overlay(list)
  if type(list) ~= 'table' or #list < 1 then check.fail('overlay: expected a list {bottom, ..., top}') end
  local bottom = check_clip(list[1], 'overlay')
  local layers = {}
  for i = 2, #list do
    local c = check_clip(list[i], 'overlay')
    if not same_rate(c, bottom) then
      check.fail('overlay: clip %d is %s fps, the bottom is %s fps (rates must match)', i, rate_exact(c),
                 rate_exact(bottom))
    end
    layers[#layers + 1] = { clip = c }
  end
  local W, H, num, den = bottom.width, bottom.height, bottom.fps_num, bottom.fps_den
  local sounds = { bottom.audio }
  for _, l in ipairs(layers) do sounds[#sounds + 1] = l.clip.audio or false end
  local c = new_clip(bottom.size, num, den, bottom.frames, function(_, k, frame)
    bottom:render(k, frame)
    local t = k * den / num
    for _, l in ipairs(layers) do
      local c = l.clip
      if k < c.frames then
        local f = render_into_scratch(l, c, k)
        local pos = c.pos
        local x = pos and place(pos[1], W, c.width, t, 'left', 'right') or 0
        local y = pos and place(pos[2], H, c.height, t, 'top', 'bottom') or 0
        C.vs_frame_blit(frame, f, x, y, 1)
      end
    end
  end)
  c.audio = sound.overlay(sounds, bottom.frames, num, den)
  return c
end

---------------------------------------------------------------- sources

local function duration_frames(d, num, den, what, default)
  if d == nil then d = default end
  if type(d) ~= 'number' or not (d > 0) or d == math.huge then
    check.fail('%s: duration must be a positive number of seconds, got %s', what, d)
  end
  local frames = floor(d * num / den + 0.5)
  if frames < 1 then
    check.fail('%s: duration %g s is shorter than one frame (%g s)', what, d, den / num)
  end
  return frames
end

local function glob_to_pattern(g)
  return '^' .. g:gsub('[%^%$%(%)%%%.%[%]%+%-]', '%%%0'):gsub('%*', '.*'):gsub('%?', '.') .. '$'
end

-- A folder's image files in frame order (the same listing as vstudio
-- convert: src/framelist.c), or those matching a glob (*, ? in the file
-- name part only). sort: "natural", "name", a regex with one capture group
-- for the frame number, or a function(a, b) over file names.
local function list_images(spec, sort)
  local dir, pattern = spec, nil
  if spec:find('[%*%?]') then
    dir, pattern = spec:match('^(.*)/([^/]*)$')
    if not dir then dir, pattern = '.', spec end
    if dir:find('[%*%?]') then check.fail('images: wildcards only in the file name: %s', spec) end
    pattern = glob_to_pattern(pattern)
  end
  if type(sort) ~= 'string' and type(sort) ~= 'function' then
    check.fail('images: sort must be "natural", "name", a regex or a function(a, b), got %s', sort)
  end
  local list = C.vs_frame_list_open(dir, type(sort) == 'string' and sort or 'name')
  if list == nil then check.fail('images: %s', ffi.string(C.vs_last_error())) end
  list = ffi.gc(list, C.vs_frame_list_free)
  local paths = {}
  for i = 0, tonumber(C.vs_frame_list_count(list)) - 1 do
    local path = ffi.string(C.vs_frame_list_path(list, i))
    if not pattern or path:match('[^/]*$'):match(pattern) then paths[#paths + 1] = path end
  end
  if type(sort) == 'function' then
    table.sort(paths, function(a, b) return sort(a:match('[^/]*$'), b:match('[^/]*$')) end)
  end
  return paths
end

-- Width and height from a PNG header, or nil for anything else.
local function png_size(path)
  local f = io.open(path, 'rb')
  if not f then return nil end
  local head = f:read(24)
  f:close()
  if not head or #head < 24 or head:sub(1, 8) ~= '\137PNG\r\n\26\n' then return nil end
  local function u32(i)
    local a, b, c, d = head:byte(i, i + 3)
    return ((a * 256 + b) * 256 + c) * 256 + d
  end
  return u32(17), u32(21)
end

-- Width and height from a JPEG's start-of-frame marker, or nil.
local function jpeg_size(path)
  local f = io.open(path, 'rb')
  if not f then return nil end
  local data = f:read(65536)
  f:close()
  if not data or data:sub(1, 2) ~= '\255\216' then return nil end
  local i = 3
  while i + 8 <= #data do
    if data:byte(i) ~= 255 then return nil end
    local marker = data:byte(i + 1)
    local len = data:byte(i + 2) * 256 + data:byte(i + 3)
    if marker >= 0xC0 and marker <= 0xCF and marker ~= 0xC4 and marker ~= 0xC8 and marker ~= 0xCC then
      return data:byte(i + 7) * 256 + data:byte(i + 8), data:byte(i + 5) * 256 + data:byte(i + 6)
    end
    i = i + 2 + len
  end
  return nil
end

local M = { new_clip = new_clip, derive = derive, is_clip = is_clip, rational_fps = rational_fps, duration_frames = duration_frames }

function M.install(vs)
  vs.Clip = Clip
  vs.new_clip = new_clip
  vs.is_clip = is_clip

  function vs.clip(spec)
    if type(spec) ~= 'table' then check.fail('clip: expected a table {size=, fps=, duration=, draw=}') end
    check_size(spec.size, 'clip')
    local num, den = rational_fps(spec.fps or 30)
    if type(spec.draw) ~= 'function' then check.fail('clip: draw must be a function(frame, t)') end
    local frames = duration_frames(spec.duration, num, den, 'clip')
    local draw = spec.draw
    local c = new_clip(spec.size, num, den, frames, function(self, k, frame)
      draw(frame, self:time_of(k))
    end)
    -- audio = a sound for it, as clip:with_audio(a)
    if spec.audio ~= nil then c.audio = sound.fit(sound.check_audio(spec.audio, 'clip: audio'), frames, num, den) end
    return c
  end

  -- A clip of one colour: vs.color{r, g, b[, a], size=, duration=, fps=}.
  function vs.color(spec)
    if type(spec) ~= 'table' then check.fail('color: expected {r, g, b[, a], size=, duration=}') end
    local r, g, b, a = check.color(spec.color or { spec[1], spec[2], spec[3], spec[4] }, 'color')
    check_size(spec.size, 'color')
    local num, den = rational_fps(spec.fps or 30)
    local frames = duration_frames(spec.duration, num, den, 'color')
    return new_clip(spec.size, num, den, frames, function(_, _, frame) C.vs_frame_fill(frame, r, g, b, a) end)
  end

  -- A still image as a clip (default 5 s at 30 fps); alpha is kept.
  function vs.image(path, opts)
    if type(path) ~= 'string' then check.fail('image: path must be a string') end
    opts = opts or {}
    local img = core.own_frame(core.check(C.vs_image_load(path), 'image'))
    local num, den = rational_fps(opts.fps or 30)
    local frames = duration_frames(opts.duration, num, den, 'image', 5)
    return new_clip({ img.width, img.height }, num, den, frames, function(_, _, frame)
      C.vs_frame_copy_into(frame, img)
    end)
  end

  -- A folder of images (or a glob like "shots/*.png") as a clip, one image
  -- per frame in natural order (sort = "natural" | "name" | a regex with a
  -- capture group for the frame number | a function(a, b) over names).
  -- Every image must have the size of the first.
  function vs.images(spec, opts)
    if type(spec) ~= 'string' then check.fail('images: expected a folder or a glob pattern') end
    opts = opts or {}
    local num, den = rational_fps(opts.fps or 30)
    local paths = list_images(spec, opts.sort or 'natural')
    if #paths == 0 then check.fail('images: no PNG or JPEG files in %s', spec) end
    local first = core.own_frame(core.check(C.vs_image_load(paths[1]), 'images'))
    local w, h = first.width, first.height
    -- PNG and JPEG headers are read now so a wrong size names its file at the script's line
    for i = 2, #paths do
      local pw, ph = png_size(paths[i])
      if not pw then pw, ph = jpeg_size(paths[i]) end
      if pw and (pw ~= w or ph ~= h) then
        check.fail('images: %s is %dx%d, the first image is %dx%d (all must match)', paths[i], pw, ph, w, h)
      end
    end
    local c = new_clip({ w, h }, num, den, #paths, function(_, k, frame)
      local img = core.own_frame(core.check(C.vs_image_load(paths[k + 1]), 'images'))
      if img.width ~= w or img.height ~= h then
        error(string.format('vstudio: images: %s is %dx%d, the first image is %dx%d (all must match)', paths[k + 1],
                            img.width, img.height, w, h))
      end
      C.vs_frame_copy_into(frame, img)
    end)
    c.paths = paths
    return c
  end

  -- Text as a clip of its own size with a transparent background:
  -- vs.text(str, {the options of frame:text, duration =, fps =, reveal =,
  -- reveal_time =}). The clip is the text's box plus padding, plus room on
  -- every side for the outline and shadow. reveal = 'chars' or 'words'
  -- shows the text one character (spaces aside) or one word at a time, in
  -- reading order, all of it after reveal_time seconds (default: half the
  -- duration); the layout is the whole text's throughout, so nothing moves.
  function vs.text(str, opts)
    local entry, o = draw.layout_of(str, opts, 'text')
    local pad, bg, radius = draw.box_of(o, 'text')
    local num, den = rational_fps(o.fps or 30)
    local frames = duration_frames(o.duration, num, den, 'text', 5)
    local paint = draw.paint_of(o, 'text')
    local margin = draw.paint_margin(paint)
    local w, h = entry.w, entry.h
    local cw, ch = max(1, w + 2 * (pad + margin)), max(1, h + 2 * (pad + margin))
    local ends -- byte offsets where each revealed unit ends
    local reveal_frames
    if o.reveal ~= nil then
      if o.reveal ~= 'chars' and o.reveal ~= 'words' then
        check.fail('text: reveal must be "chars" or "words", got %s', o.reveal)
      end
      local rt = o.reveal_time == nil and frames * den / num / 2 or o.reveal_time
      if type(rt) ~= 'number' or not (rt > 0 and rt < math.huge) then
        check.fail('text: reveal_time must be a positive number of seconds, got %s', rt)
      end
      reveal_frames = rt * num / den
      ends = {}
      local unit = o.reveal == 'chars' and '()[^%s\128-\191][\128-\191]*()' or '()%S+()'
      for _, e in str:gmatch(unit) do ends[#ends + 1] = e - 1 end
    end
    local layout = entry.layout -- kept alive by this closure, whatever the cache drops
    local cached, cached_n
    return new_clip({ cw, ch }, num, den, frames, function(_, k, frame)
      local n = -1
      if ends then
        n = min(#ends, floor(#ends * k / reveal_frames + EPS))
        if n == #ends then n = -1 end
      end
      if not cached or n ~= cached_n then
        cached = cached or core.frame(cw, ch)
        C.vs_frame_fill(cached, 0, 0, 0, 0)
        if bg then
          C.vs_draw_rounded_rect(cached, margin, margin, w + 2 * pad, h + 2 * pad, radius, bg[1], bg[2], bg[3],
                                 floor(bg[4] * paint.opacity + 0.5))
        end
        paint.reveal = n < 0 and -1 or (n == 0 and 0 or ends[n])
        core.check(C.vs_text_draw(cached, layout, pad + margin, pad + margin, paint), 'text')
        cached_n = n
      end
      C.vs_frame_copy_into(frame, cached)
    end)
  end

  function vs.sequence(list)
    if type(list) == 'table' and list.crossfade ~= nil then
      local s = list.crossfade
      if type(list[1]) ~= 'table' then check.fail('sequence: expected a list of clips') end
      local acc = check_clip(list[1], 'sequence')
      for i = 2, #list do acc = crossfade(acc, list[i], s, 'sequence') end
      return acc
    end
    return sequence(list, 'sequence')
  end

  function vs.crossfade(a, b, seconds)
    return crossfade(a, b, seconds, 'crossfade')
  end

  function vs.overlay(list)
    return overlay(list)
  end

end

return M
