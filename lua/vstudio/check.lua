-- check.lua: the one way vstudio's Lua refuses an argument.
--
-- check.fail raises 'vstudio: <message>' at the first caller outside this
-- folder (lua/vstudio/): the script's line, however many of vstudio's own
-- functions lie between it and the check, as src/lua_state.c cuts a
-- traceback to the user's frames. So no function passes a stack level on,
-- and a helper may call another freely. The walk stops at the first frame
-- that is not ours, a C function (pcall) included, so an error caught by a
-- pcall inside vstudio is not given a position past it.
--
-- The shared checks below return the value checked; `what` names the call
-- and the argument the way messages read ('frame: width').
local check = {}

local dir = debug.getinfo(1, 'S').source
-- vstudio's Lua folder, as package.path found this file ('.' when loaded
-- from a string)
check.dir = dir:sub(1, 1) == '@' and dir:sub(2):match('^(.*)/[^/]*$') or '.'

local own_prefix = '@' .. check.dir .. '/'

-- Whether a chunk source (debug.getinfo's `source`) is one of vstudio's modules.
function check.is_own(source)
  return source:sub(1, #own_prefix) == own_prefix
end

-- Raises 'vstudio: ' .. fmt:format(...) (fmt as is without arguments) at
-- the first caller outside vstudio's own Lua.
function check.fail(fmt, ...)
  local msg = select('#', ...) > 0 and fmt:format(...) or fmt
  local level = 2
  while true do
    local info = debug.getinfo(level, 'S')
    if not info or not check.is_own(info.source) then break end
    level = level + 1
  end
  error('vstudio: ' .. msg, level)
end

-- A whole number that goes to C: an integer (not NaN, not infinite, no
-- fraction) in lo..hi.
function check.int(v, lo, hi, what)
  if type(v) ~= 'number' or not (v >= lo and v <= hi) or v % 1 ~= 0 then
    check.fail('%s must be an integer in %d..%d, got %s', what, lo, hi, v)
  end
  return v
end

-- A finite number: `name` of call `what`.
function check.number(v, what, name)
  if type(v) ~= 'number' or v ~= v or v == math.huge or v == -math.huge then
    check.fail('%s: %s must be a number, got %s', what, name, v)
  end
  return v
end

-- A colour as four bytes r, g, b, a from {r, g, b[, a]} (0..255), a grey
-- level number, or '#rrggbb' / '#rrggbbaa'.
function check.color(c, what)
  if type(c) == 'number' then c = { c, c, c } end
  if type(c) == 'string' then
    local hex = c:match('^#(%x+)$')
    if hex and (#hex == 6 or #hex == 8) then
      return tonumber(hex:sub(1, 2), 16), tonumber(hex:sub(3, 4), 16), tonumber(hex:sub(5, 6), 16),
             #hex == 8 and tonumber(hex:sub(7, 8), 16) or 255
    end
  elseif type(c) == 'table' then
    local ok = #c >= 3 and #c <= 4
    for i = 1, #c do
      local v = c[i]
      if type(v) ~= 'number' or not (v >= 0 and v <= 255) then ok = false end
    end
    if ok then
      return math.floor(c[1] + 0.5), math.floor(c[2] + 0.5), math.floor(c[3] + 0.5),
             c[4] and math.floor(c[4] + 0.5) or 255
    end
  end
  check.fail('%s: colour must be {r, g, b[, a]} with values 0..255 or "#rrggbb[aa]", got %s', what or 'color', c)
end

return check
