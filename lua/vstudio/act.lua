-- act.lua: pympanim-style acts and scenes.
--
-- A scene is a piece of animation over a shared state: apply(state, p) sets
-- the state for progress p in [0, 1] through the scene. An act plays scenes
-- one after another and draws each frame from the state: for frame k it
-- builds a fresh state, applies every earlier scene at p = 1 and the current
-- one at its p, then calls render(state, frame, t). Any frame can therefore be
-- rendered alone, in any order, by any worker: the engine's requirement.
--
-- Scene boundaries are whole frames, placed by the running total of the
-- scenes' durations (so rounding never accumulates); inside a scene of m
-- frames, frame j has p = j / m.
--
-- Sound: vs.act{audio = a} is a soundtrack under the whole act; vs.scene{audio = a} plays a
-- from the scene's first frame, cut at its last. Scene operations re-time it as they re-time
-- the animation (reverse, speed, loop, trim, freeze); ease and with_duration keep it as it is,
-- and hold, where the state stands still, has none.
local check = require 'vstudio.check'
local sound = require 'vstudio.audio'
local clip = require 'vstudio.clip'
local ease = require 'vstudio.ease'

local Scene = {}
Scene.__index = Scene

local function new_scene(duration, apply, audio)
  return setmetatable({ duration = duration, apply = apply, audio = audio }, Scene)
end

-- A scene's sound is re-timed with the clip helpers (audio.lua), in frames of
-- a microsecond: scene times are seconds.
local US = 1000000
local function us(seconds) return math.floor(seconds * US + 0.5) end
local function scene_sound(s) return sound.fit(s.audio, us(s.duration), US, 1) end

local function check_positive(v, what, name)
  if type(v) ~= 'number' or not (v > 0) or v == math.huge then
    check.fail('%s: %s must be a positive number, got %s', what, name, v)
  end
  return v
end

-- Plays p from 1 to 0.
function Scene:reverse()
  local apply = self.apply
  return new_scene(self.duration, function(state, p) return apply(state, 1 - p) end,
                   sound.reverse(scene_sound(self)))
end

-- k times as fast: the duration divided by k.
function Scene:speed(k)
  check_positive(k, 'scene:speed', 'factor')
  return new_scene(self.duration / k, self.apply,
                   sound.speed(scene_sound(self), k, us(self.duration / k), US, 1))
end

-- Progress remapped through an easing function (or its name).
function Scene:ease(fn)
  fn = ease.resolve(fn, 'scene:ease')
  local apply = self.apply
  return new_scene(self.duration, function(state, p) return apply(state, fn(p)) end, self.audio)
end

-- n rounds in a row (the last one ends at p = 1).
function Scene:loop(n)
  check_positive(n, 'scene:loop', 'count')
  local apply = self.apply
  local d = self.duration
  return new_scene(d * n, function(state, p)
    if p >= 1 then return apply(state, 1) end
    local q = p * n
    return apply(state, q - math.floor(q))
  end, sound.loop(scene_sound(self), us(d), us(d * n), US, 1))
end

-- The part from t0 to t1 seconds of the scene (t1 defaults to its end).
function Scene:trim(t0, t1)
  local d = self.duration
  t1 = t1 == nil and d or t1
  if type(t0) ~= 'number' or type(t1) ~= 'number' or not (t0 >= 0 and t0 < t1 and t1 <= d) then
    check.fail('scene:trim: (%s, %s) is outside the scene or empty; need 0 <= t0 < t1 <= %g', t0, t1, d)
  end
  local apply = self.apply
  return new_scene(t1 - t0, function(state, p) return apply(state, (t0 + p * (t1 - t0)) / d) end,
                   sound.trim(self.audio, us(t0), us(t1), US, 1))
end

-- Holds the state at t seconds for `seconds`, then plays on.
function Scene:freeze(t, seconds)
  local d = self.duration
  if type(t) ~= 'number' or not (t >= 0 and t <= d) then
    check.fail('scene:freeze: t=%s is outside the scene (0..%g s)', t, d)
  end
  check_positive(seconds, 'scene:freeze', 'seconds')
  local apply, total = self.apply, d + seconds
  return new_scene(total, function(state, p)
    local s = p * total
    if s < t then return apply(state, s / d) end
    if s < t + seconds then return apply(state, t / d) end
    return apply(state, (s - seconds) / d)
  end, sound.freeze(scene_sound(self), us(t), us(seconds), us(d), US, 1))
end

-- The same scene lasting `seconds`.
function Scene:with_duration(seconds)
  check_positive(seconds, 'scene:with_duration', 'duration')
  return new_scene(seconds, self.apply, self.audio)
end

-- Holds the state reached at p for `seconds`.
function Scene:hold(seconds)
  check_positive(seconds, 'scene:hold', 'seconds')
  local apply = self.apply
  return new_scene(seconds, function(state) return apply(state, 1) end)
end

local M = {}

function M.install(vs)
  vs.Scene = Scene

  function vs.scene(spec)
    if type(spec) ~= 'table' then check.fail('scene: expected {duration=, apply=fn(state, p)}') end
    check_positive(spec.duration, 'scene', 'duration')
    if type(spec.apply) ~= 'function' then check.fail('scene: apply must be a function(state, p)') end
    local s = new_scene(spec.duration, spec.apply)
    if spec.audio ~= nil then s.audio = sound.check_audio(spec.audio, 'scene: audio') end
    return s
  end

  function vs.act(spec)
    if type(spec) ~= 'table' then check.fail('act: expected {size=, fps=, state=, scenes=, render=}') end
    local scenes = spec.scenes
    if type(scenes) ~= 'table' or #scenes < 1 then check.fail('act: scenes must be a list of vs.scene{}') end
    for i, s in ipairs(scenes) do
      if getmetatable(s) ~= Scene then check.fail('act: scene %s is not a vs.scene{}', i) end
    end
    if type(spec.render) ~= 'function' then check.fail('act: render must be a function(state, frame, t)') end
    local state_fn = spec.state or function() return {} end
    if type(state_fn) ~= 'function' then check.fail('act: state must be a function returning a table') end
    -- a template clip validates size and fps the same way vs.clip does
    local total = 0
    for _, s in ipairs(scenes) do total = total + s.duration end
    local ok, template = pcall(vs.clip, { size = spec.size, fps = spec.fps or 30, duration = total,
                                          draw = function() end })
    if not ok then
      local msg = tostring(template):gsub('^[^:]*:%d+: ', ''):gsub('^vstudio: ', ''):gsub('^clip:', 'act:')
      check.fail('%s', msg)
    end
    local num, den = template.fps_num, template.fps_den
    local starts, acc = {}, 0
    for i, s in ipairs(scenes) do
      starts[i] = math.floor(acc * num / den + 0.5)
      acc = acc + s.duration
    end
    local frames = math.floor(acc * num / den + 0.5)
    starts[#scenes + 1] = frames
    local render = spec.render
    local act = clip.new_clip(template.size, num, den, frames, function(_, k, frame)
      local state = state_fn()
      if state == nil then state = {} end
      for i, s in ipairs(scenes) do
        local a, b = starts[i], starts[i + 1]
        if k >= b then
          s.apply(state, 1)
        else
          s.apply(state, (k - a) / (b - a))
          break
        end
      end
      render(state, frame, k * den / num)
    end)
    act.scenes = scenes
    act.scene_starts = starts
    local parts = {}
    for i, s in ipairs(scenes) do
      parts[i] = { audio = s.audio, start = starts[i], frames = starts[i + 1] - starts[i] }
    end
    if spec.audio ~= nil then sound.check_audio(spec.audio, 'act: audio') end
    act.audio = sound.overlay({ spec.audio or false, sound.sequence(parts, frames, num, den) or false }, frames,
                              num, den)
    return act
  end
end

return M
