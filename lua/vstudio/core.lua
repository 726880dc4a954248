-- core.lua: the C boundary. Declares libvstudio's public header (src/vstudio.h,
-- embedded in the library, so declarations never drift from the code) with
-- ffi.cdef, finds the library, and gives frames their Lua methods.
--
-- Inside the vstudio binary the symbols are already loaded (ffi.C), and
-- used whatever the environment says; under a plain luajit (tests,
-- embedding) the library is loaded from VSTUDIO_LIB, the source tree's
-- build/, or the installed PREFIX/lib.
local ffi = require 'ffi'

local core = {}

ffi.cdef [[ const char *vs_api_header(void); ]]

local function script_dir()
  local src = debug.getinfo(1, 'S').source
  return src:sub(1, 1) == '@' and src:sub(2):match('^(.*)/[^/]*$') or '.'
end

local function load_library()
  -- inside the vstudio binary, its own library (a second copy loaded from
  -- VSTUDIO_LIB would keep its own per-thread errors and shared decoders)
  if pcall(function() return ffi.C.vs_api_header end) then return ffi.C end
  local env = os.getenv('VSTUDIO_LIB')
  if env and env ~= '' then return ffi.load(env) end
  local dir = script_dir()
  local tried = {}
  for _, candidate in ipairs {
    dir .. '/../../build/libvstudio.so',        -- source tree: lua/vstudio/ -> build/
    dir .. '/../../../../lib/libvstudio.so',    -- installed: share/vstudio/lua/vstudio/ -> lib/
  } do
    local f = io.open(candidate, 'rb')
    if f then
      f:close()
      return ffi.load(candidate)
    end
    tried[#tried + 1] = candidate
  end
  local ok, lib = pcall(ffi.load, 'vstudio')
  if ok then return lib end
  error('vstudio: cannot find libvstudio.so (run make, or set VSTUDIO_LIB); tried ' ..
        table.concat(tried, ', '), 0)
end

local C = load_library()
core.C = C

-- Preprocessor lines (include guard, includes) are not C declarations.
ffi.cdef((ffi.string(C.vs_api_header()):gsub('\n#[^\n]*', '\n'):gsub('^#[^\n]*', '')))

-- vstudio's own modules, which an argument error looks past.
local own_source = '@' .. script_dir() .. '/'

-- Raises msg at the first caller outside vstudio's own Lua: the script's line.
function core.raise(msg)
  local level = 2
  while true do
    local info = debug.getinfo(level, 'S')
    if not info or info.source:sub(1, #own_source) ~= own_source then break end
    level = level + 1
  end
  error(msg, level)
end

-- Limits of what C takes: frame sides, frame counts, plain C ints.
core.MAX_SIDE = 32768
core.MAX_FRAMES = 2 ^ 31 - 1
core.INT_MAX = 2 ^ 31 - 1

-- The one check for a whole number that goes to C: an integer (not NaN, not
-- infinite, no fraction) in lo..hi, or an error naming it and the limits.
-- `what` reads like 'frame: width'.
function core.int(v, lo, hi, what)
  if type(v) ~= 'number' or not (v >= lo and v <= hi) or v % 1 ~= 0 then
    core.raise(('vstudio: %s must be an integer in %d..%d, got %s'):format(what, lo, hi, tostring(v)))
  end
  return v
end

-- Raises the library's last error as a Lua error at the caller's caller.
function core.check(ok, what, level)
  if ok == nil or ok == false or (type(ok) == 'number' and ok < 0) or
     (type(ok) == 'cdata' and ok == nil) then
    local msg = ffi.string(C.vs_last_error())
    error(what and ('vstudio: ' .. what .. ': ' .. msg) or ('vstudio: ' .. msg), (level or 1) + 1)
  end
  return ok
end

-- Takes ownership of a frame the library allocated: the GC frees it.
function core.own_frame(ptr)
  return ffi.gc(ptr, C.vs_frame_free)
end

local frame_methods = {}
core.frame_methods = frame_methods

local function bad_coords(f, x, y)
  error(string.format('vstudio: pixel (%s, %s) is outside the %dx%d frame', tostring(x), tostring(y),
                      f.width, f.height), 3)
end

function frame_methods.get(f, x, y)
  if type(x) ~= 'number' or type(y) ~= 'number' or not (x >= 0 and y >= 0 and x < f.width and y < f.height) or x % 1 ~= 0 or y % 1 ~= 0 then
    bad_coords(f, x, y)
  end
  local p = f.data + y * f.stride + x * 4
  return p[0], p[1], p[2], p[3]
end

-- Channel values are bytes: anything else is an error, not a silent wrap.
local function bad_channels(what, r, g, b, a)
  error(string.format('vstudio: %s: channel values must be 0..255, got %s, %s, %s, %s', what, tostring(r),
                      tostring(g), tostring(b), tostring(a)), 3)
end

local function is_byte(v)
  return type(v) == 'number' and v >= 0 and v <= 255
end

function frame_methods.set(f, x, y, r, g, b, a)
  if type(x) ~= 'number' or type(y) ~= 'number' or not (x >= 0 and y >= 0 and x < f.width and y < f.height) or x % 1 ~= 0 or y % 1 ~= 0 then
    bad_coords(f, x, y)
  end
  a = a or 255
  if not (is_byte(r) and is_byte(g) and is_byte(b) and is_byte(a)) then bad_channels('frame:set', r, g, b, a) end
  local p = f.data + y * f.stride + x * 4
  p[0], p[1], p[2], p[3] = r, g, b, a
end

-- Unchecked: the fast path for per-pixel loops (p[x*4 + c]).
function frame_methods.row(f, y)
  return f.data + y * f.stride
end

function frame_methods.fill(f, r, g, b, a)
  a = a or 255
  if not (is_byte(r) and is_byte(g) and is_byte(b) and is_byte(a)) then bad_channels('frame:fill', r, g, b, a) end
  C.vs_frame_fill(f, r, g, b, a)
  return f
end

function frame_methods.copy(f)
  return core.own_frame(core.check(C.vs_frame_copy(f), 'frame:copy', 2))
end

function frame_methods.blit(f, src, x, y, opacity)
  if not ffi.istype('vs_frame', src) then
    error('vstudio: frame:blit: expected a frame to draw, got ' .. type(src), 2)
  end
  x, y, opacity = x or 0, y or 0, opacity or 1
  core.int(x, -core.INT_MAX, core.INT_MAX, 'frame:blit: x')
  core.int(y, -core.INT_MAX, core.INT_MAX, 'frame:blit: y')
  if type(opacity) ~= 'number' or not (opacity >= 0 and opacity <= 1) then
    error('vstudio: frame:blit: opacity must be 0..1, got ' .. tostring(opacity), 2)
  end
  C.vs_frame_blit(f, src, x, y, opacity)
  return f
end

function frame_methods.save(f, path, opts)
  if type(path) ~= 'string' then error('vstudio: frame:save: path must be a string', 2) end
  -- 0 is the C side's "default" (90), not a quality: only 1..100 are
  local quality = opts and opts.quality ~= nil and core.int(opts.quality, 1, 100, 'frame:save: JPEG quality') or 0
  core.check(C.vs_image_save(f, path, quality), nil, 2)
  return f
end

-- A colour as four bytes r, g, b, a from {r, g, b[, a]} (0..255), a grey
-- level number, or '#rrggbb' / '#rrggbbaa'; errors at the caller's caller.
function core.color(c, what, level)
  level = (level or 1) + 1
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
  error('vstudio: ' .. (what or 'color') .. ': colour must be {r, g, b[, a]} with values 0..255 or "#rrggbb[aa]", got ' ..
        tostring(c), level)
end

ffi.metatype('vs_frame', {
  __index = frame_methods,
  __tostring = function(f) return string.format('frame %dx%d', f.width, f.height) end,
})

function core.frame(w, h)
  core.int(w, 1, core.MAX_SIDE, 'frame: width')
  core.int(h, 1, core.MAX_SIDE, 'frame: height')
  return core.own_frame(core.check(C.vs_frame_new(w, h), 'frame', 2))
end

function core.load(path)
  if type(path) ~= 'string' then error('vstudio: load: path must be a string', 2) end
  return core.own_frame(core.check(C.vs_image_load(path), nil, 2))
end

return core
