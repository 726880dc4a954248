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
-- Time is exact: frame k of a clip is at t = k * fps_den / fps_num seconds.
local core = require 'vstudio.core'

local Clip = {}
Clip.__index = Clip

local function check_size(size, level)
  if type(size) ~= 'table' or type(size[1]) ~= 'number' or type(size[2]) ~= 'number' or
     size[1] < 1 or size[2] < 1 or size[1] % 1 ~= 0 or size[2] % 1 ~= 0 then
    error('vstudio: size must be {width, height} with positive integers', level + 1)
  end
end

-- fps as a number or a string "30000/1001" -> num, den.
local function rational_fps(fps, level)
  if type(fps) == 'number' then
    if not (fps > 0 and fps < 1e6) then error('vstudio: fps must be positive, got ' .. tostring(fps), level + 1) end
    if fps % 1 == 0 then return fps, 1 end
    local den = 1000
    return math.floor(fps * den + 0.5), den
  elseif type(fps) == 'string' then
    local n, d = fps:match('^(%d+)/(%d+)$')
    n, d = tonumber(n or fps), tonumber(d or 1)
    if not n or not d or n <= 0 or d <= 0 then
      error('vstudio: fps must be a number or "N/D", got ' .. fps, level + 1)
    end
    return n, d
  end
  error('vstudio: fps must be a number or "N/D", got ' .. tostring(fps), level + 1)
end

-- A new clip of the given size and rate with `frames` frames; used by every
-- clip constructor. `render` is the clip's frame function.
local function new_clip(size, fps_num, fps_den, frames, render)
  return setmetatable({
    size = { size[1], size[2] }, width = size[1], height = size[2],
    fps = fps_num / fps_den, fps_num = fps_num, fps_den = fps_den,
    frames = frames, duration = frames * fps_den / fps_num,
    render = render,
  }, Clip)
end

-- The time in seconds of frame k.
function Clip:time_of(k)
  return k * self.fps_den / self.fps_num
end

-- The frame shown at time t (seconds), rendered into a new frame.
function Clip:frame_at(t)
  if type(t) ~= 'number' then error('vstudio: frame_at: t must be a number of seconds', 2) end
  local k = math.floor(t * self.fps_num / self.fps_den + 1e-9)
  if k < 0 or k >= self.frames then
    error(string.format('vstudio: frame_at: t=%g is outside the clip (0..%g s)', t, self.duration), 2)
  end
  local frame = core.frame(self.width, self.height):fill(0, 0, 0, 255)
  self:render(k, frame)
  return frame
end

function Clip:__tostring()
  return string.format('clip %dx%d %gfps %gs', self.width, self.height, self.fps, self.duration)
end

return function(vs)
  vs.Clip = Clip
  vs.new_clip = new_clip

  function vs.clip(spec)
    if type(spec) ~= 'table' then error('vstudio: clip: expected a table {size=, fps=, duration=, draw=}', 2) end
    check_size(spec.size, 2)
    local num, den = rational_fps(spec.fps or 30, 2)
    if type(spec.duration) ~= 'number' or not (spec.duration > 0) then
      error('vstudio: clip: duration must be a positive number of seconds, got ' .. tostring(spec.duration), 2)
    end
    if type(spec.draw) ~= 'function' then error('vstudio: clip: draw must be a function(frame, t)', 2) end
    local frames = math.floor(spec.duration * num / den + 0.5)
    if frames < 1 then error('vstudio: clip: duration ' .. spec.duration .. ' s is shorter than one frame', 2) end
    local draw = spec.draw
    return new_clip(spec.size, num, den, frames, function(self, k, frame)
      draw(frame, self:time_of(k))
    end)
  end
end
