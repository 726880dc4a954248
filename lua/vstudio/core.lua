-- core.lua: the C boundary. Declares libvstudio's public header (src/vstudio.h,
-- embedded in the library, so declarations never drift from the code) with
-- ffi.cdef, finds the library, and gives frames their Lua methods.
--
-- Inside the vstudio binary the symbols are already loaded (ffi.C), and
-- used whatever the environment says; under a plain luajit (tests,
-- embedding) the library is loaded from VSTUDIO_LIB, the source tree's
-- build/, or the installed PREFIX/lib.
local ffi = require 'ffi'
local check = require 'vstudio.check'

local core = {}

ffi.cdef [[ const char *vs_api_header(void); ]]

local function load_library()
  -- inside the vstudio binary, its own library (a second copy loaded from
  -- VSTUDIO_LIB would keep its own per-thread errors and shared decoders)
  if pcall(function() return ffi.C.vs_api_header end) then return ffi.C end
  local env = os.getenv('VSTUDIO_LIB')
  if env and env ~= '' then return ffi.load(env) end
  local dir = check.dir
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

-- Limits of what C takes: frame sides, frame counts, plain C ints.
core.MAX_SIDE = 32768
core.MAX_FRAMES = 2 ^ 31 - 1
core.INT_MAX = 2 ^ 31 - 1

-- Raises the library's last error (check.fail: at the script's line) when
-- ok says a C call failed; returns ok.
function core.check(ok, what)
  if ok == nil or ok == false or (type(ok) == 'number' and ok < 0) or
     (type(ok) == 'cdata' and ok == nil) then
    local msg = ffi.string(C.vs_last_error())
    if what then check.fail('%s: %s', what, msg) end
    check.fail('%s', msg)
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
  check.fail('pixel (%s, %s) is outside the %dx%d frame', x, y, f.width, f.height)
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
  check.fail('%s: channel values must be 0..255, got %s, %s, %s, %s', what, r, g, b, a)
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
  return core.own_frame(core.check(C.vs_frame_copy(f), 'frame:copy'))
end

function frame_methods.blit(f, src, x, y, opacity)
  if not ffi.istype('vs_frame', src) then
    check.fail('frame:blit: expected a frame to draw, got %s', type(src))
  end
  x, y, opacity = x or 0, y or 0, opacity or 1
  check.int(x, -core.INT_MAX, core.INT_MAX, 'frame:blit: x')
  check.int(y, -core.INT_MAX, core.INT_MAX, 'frame:blit: y')
  if type(opacity) ~= 'number' or not (opacity >= 0 and opacity <= 1) then
    check.fail('frame:blit: opacity must be 0..1, got %s', opacity)
  end
  C.vs_frame_blit(f, src, x, y, opacity)
  return f
end

function frame_methods.save(f, path, opts)
  if type(path) ~= 'string' then check.fail('frame:save: path must be a string') end
  -- 0 is the C side's "default" (90), not a quality: only 1..100 are
  local quality = opts and opts.quality ~= nil and check.int(opts.quality, 1, 100, 'frame:save: JPEG quality') or 0
  core.check(C.vs_image_save(f, path, quality))
  return f
end

ffi.metatype('vs_frame', {
  __index = frame_methods,
  __tostring = function(f) return string.format('frame %dx%d', f.width, f.height) end,
})

function core.frame(w, h)
  check.int(w, 1, core.MAX_SIDE, 'frame: width')
  check.int(h, 1, core.MAX_SIDE, 'frame: height')
  return core.own_frame(core.check(C.vs_frame_new(w, h), 'frame'))
end

function core.load(path)
  if type(path) ~= 'string' then check.fail('load: path must be a string') end
  return core.own_frame(core.check(C.vs_image_load(path)))
end

return core
