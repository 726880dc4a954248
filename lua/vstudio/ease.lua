-- ease.lua: Robert Penner's easing functions as vs.ease.<name>, each a
-- function on [0, 1] with f(0) = 0 and f(1) = 1 (back and elastic overshoot
-- in between). Names: linear, and in_, out_, in_out_ + quad, cubic, quart,
-- quint, sine, expo, circ, back, elastic, bounce. Used by clip:ease(fn) and
-- scene:ease(fn), which also accept the name as a string.
local check = require 'vstudio.check'

local pi, sin, cos, sqrt = math.pi, math.sin, math.cos, math.sqrt

local ease = {}

function ease.linear(p) return p end

-- Builds out_ and in_out_ from an in_ function.
local function family(name, f_in)
  ease['in_' .. name] = f_in
  ease['out_' .. name] = function(p) return 1 - f_in(1 - p) end
  ease['in_out_' .. name] = function(p)
    if p < 0.5 then return f_in(2 * p) / 2 end
    return 1 - f_in(2 - 2 * p) / 2
  end
end

family('quad', function(p) return p * p end)
family('cubic', function(p) return p * p * p end)
family('quart', function(p) return p * p * p * p end)
family('quint', function(p) return p * p * p * p * p end)
family('sine', function(p) return 1 - cos(p * pi / 2) end)
family('expo', function(p) return p == 0 and 0 or 2 ^ (10 * p - 10) end)
family('circ', function(p) return 1 - sqrt(1 - p * p) end)
local back_s = 1.70158
family('back', function(p) return p * p * ((back_s + 1) * p - back_s) end)
family('elastic', function(p)
  if p == 0 or p == 1 then return p end
  return -(2 ^ (10 * p - 10)) * sin((p * 10 - 10.75) * (2 * pi / 3))
end)

local function bounce_out(p)
  local n, d = 7.5625, 2.75
  if p < 1 / d then return n * p * p end
  if p < 2 / d then p = p - 1.5 / d return n * p * p + 0.75 end
  if p < 2.5 / d then p = p - 2.25 / d return n * p * p + 0.9375 end
  p = p - 2.625 / d
  return n * p * p + 0.984375
end
family('bounce', function(p) return 1 - bounce_out(1 - p) end)

-- Penner's in_out_elastic has a longer period (4.5 instead of 3 tenths).
do
  local c5 = 2 * pi / 4.5
  ease.in_out_elastic = function(p)
    if p == 0 or p == 1 then return p end
    if p < 0.5 then return -(2 ^ (20 * p - 10) * sin((20 * p - 11.125) * c5)) / 2 end
    return 2 ^ (-20 * p + 10) * sin((20 * p - 11.125) * c5) / 2 + 1
  end
end

-- in_out_back in Penner's form uses a larger overshoot (s * 1.525).
do
  local s2 = back_s * 1.525
  ease.in_out_back = function(p)
    if p < 0.5 then
      local q = 2 * p
      return q * q * ((s2 + 1) * q - s2) / 2
    end
    local q = 2 * p - 2
    return (q * q * ((s2 + 1) * q + s2) + 2) / 2
  end
end

local M = {}

-- Looks an easing up by function or name.
function M.resolve(fn, what)
  if type(fn) == 'function' then return fn end
  if type(fn) == 'string' and ease[fn] then return ease[fn] end
  local names = {}
  for k in pairs(ease) do names[#names + 1] = k end
  table.sort(names)
  check.fail('%s: easing must be a function on [0, 1] or one of %s; got %s', what, table.concat(names, ', '), fn)
end

function M.install(vs)
  vs.ease = ease
end

return M
