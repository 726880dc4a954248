-- helper.lua: shared fixtures for the specs. Tests make their own media in
-- a temporary directory and talk to vstudio through its public surface.
local helper = {}

helper.bin = os.getenv('VSTUDIO_BIN') or './build/vstudio'

-- The checkout (specs run from its top) and the binary as absolute paths,
-- for commands that run elsewhere (a Slurm job, an ssh session, a pod).
do
  local p = io.popen('pwd')
  helper.repo = p:read('*l')
  p:close()
end
helper.abs_bin = helper.bin:match('^/') and helper.bin or helper.repo .. '/' .. helper.bin:gsub('^%./', '')

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
helper.q = shell_quote

-- A fresh temporary directory, removed by helper.cleanup().
local made = {}
function helper.tmpdir()
  local p = io.popen('mktemp -d "${TMPDIR:-/tmp}/vstudio-spec.XXXXXX"')
  local dir = p:read('*l')
  p:close()
  made[#made + 1] = dir
  return dir
end

function helper.cleanup()
  for _, d in ipairs(made) do os.execute('rm -rf ' .. shell_quote(d)) end
  made = {}
end

-- Runs a shell command; returns stdout, stderr, exit code. The sanitizer
-- runtime preloaded into luajit (make check) is not passed on: vstudio is
-- linked with it already and other tools must run as they are.
function helper.sh(cmd)
  local errfile = os.tmpname()
  local p = io.popen('(unset LD_PRELOAD; ' .. cmd .. ') 2>' .. shell_quote(errfile) .. '; echo "::rc=$?"')
  local out = p:read('*a')
  p:close()
  local f = io.open(errfile)
  local err = f:read('*a')
  f:close()
  os.remove(errfile)
  local rc = tonumber(out:match('::rc=(%d+)%s*$'))
  out = out:gsub('::rc=%d+%s*$', '')
  return out, err, rc
end

-- Builds dir/NAME.so from C source (cflags of the pkg-config packages named,
-- if any) and returns the environment that preloads it, to put before a
-- command for helper.sh. The sanitizers' runtimes need not come first for it.
function helper.preload_shim(dir, name, source, packages)
  local c, so = dir .. '/' .. name .. '.c', dir .. '/' .. name .. '.so'
  helper.write_file(c, source)
  local cflags = packages and ' $(pkg-config --cflags ' .. packages .. ')' or ''
  local _, err, rc = helper.sh('cc -shared -fPIC -o ' .. shell_quote(so) .. ' ' .. shell_quote(c) .. cflags .. ' -ldl')
  assert(rc == 0, err)
  return 'ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0 LD_PRELOAD=' .. shell_quote(so) .. ' '
end

-- CRC-32 (as in PNG chunks and zlib) of a string, for tests that patch files.
function helper.crc32(s)
  local crc = 0xffffffff
  for i = 1, #s do
    crc = bit.bxor(crc, s:byte(i))
    for _ = 1, 8 do
      crc = bit.band(crc, 1) ~= 0 and bit.bxor(bit.rshift(crc, 1), 0xedb88320) or bit.rshift(crc, 1)
    end
  end
  return bit.bxor(crc, 0xffffffff) % 2 ^ 32
end

-- n as four big-endian bytes.
function helper.be32(n)
  return string.char(math.floor(n / 2 ^ 24) % 256, math.floor(n / 2 ^ 16) % 256, math.floor(n / 2 ^ 8) % 256, n % 256)
end

-- Runs build/vstudio with the given argument string.
function helper.vstudio(args)
  return helper.sh(shell_quote(helper.bin) .. ' ' .. args)
end

function helper.exists(path)
  local f = io.open(path, 'rb')
  if f then f:close() return true end
  return false
end

function helper.write_file(path, data)
  local f = assert(io.open(path, 'wb'))
  f:write(data)
  f:close()
end

function helper.read_file(path)
  local f = assert(io.open(path, 'rb'))
  local data = f:read('*a')
  f:close()
  return data
end

-- ffprobe as the independent oracle: exact decoded frame count.
function helper.ffprobe_frames(path)
  local out = helper.sh('ffprobe -v error -count_frames -select_streams v:0 ' ..
    '-show_entries stream=nb_read_frames -of csv=p=0 ' .. shell_quote(path))
  return tonumber(out:match('%d+'))
end

-- ffmpeg's framemd5 of a video without its header: one line per frame
-- (stream, dts, pts, duration, size, hash), to compare renders frame for frame.
function helper.framemd5(path)
  local out, err, rc = helper.sh('ffmpeg -v error -i ' .. shell_quote(path) .. ' -f framemd5 -')
  assert(rc == 0, 'ffmpeg could not decode ' .. path .. ': ' .. err)
  local lines = {}
  for line in out:gmatch('[^\n]+') do
    if not line:match('^#') then lines[#lines + 1] = line end
  end
  return lines
end

-- ffprobe stream fields as a table (width, height, codec_name, pix_fmt, r_frame_rate, ...);
-- stream: ffprobe's selector, default 'v:0' ('a:0': sample_rate, channels, ...).
function helper.ffprobe_stream(path, stream)
  local out = helper.sh('ffprobe -v error -select_streams ' .. (stream or 'v:0') .. ' -show_entries stream ' ..
    '-of default=noprint_wrappers=1 ' .. shell_quote(path))
  local t = {}
  for k, v in out:gmatch('([%w_]+)=([^\n]*)') do t[k] = tonumber(v) or v end
  return t
end

-- Rising zero crossings of a decoded sound in samples [from, to): a tone's frequency, in
-- cycles per (to - from) samples, whatever its level or phase.
function helper.rising(xs, from, to)
  local n = 0
  for i = from + 1, to - 1 do if xs[i - 1] < 0 and xs[i] >= 0 then n = n + 1 end end
  return n
end

-- Decodes a video with the ffmpeg CLI to raw RGBA frames (a list of strings).
-- ffmpeg's default YUV->RGB (also vs.video's) is fast and off by up to 3
-- levels; `exact` asks for exact rounding and interpolated chroma, to judge
-- the encoder's colours alone.
function helper.ffmpeg_rgba_frames(path, w, h, exact)
  local out = helper.sh('ffmpeg -v error -i ' .. shell_quote(path) ..
    (exact and ' -sws_flags accurate_rnd+full_chroma_int+bitexact' or '') .. ' -f rawvideo -pix_fmt rgba -')
  local size = w * h * 4
  local frames = {}
  for i = 1, #out - size + 1, size do frames[#frames + 1] = out:sub(i, i + size - 1) end
  return frames
end

-- PSNR in dB between two equal-length byte strings (or frames' RGB bytes).
function helper.psnr(a, b)
  assert(#a == #b, 'psnr: sizes differ')
  local se = 0
  for i = 1, #a do
    local d = a:byte(i) - b:byte(i)
    se = se + d * d
  end
  if se == 0 then return math.huge end
  return 10 * math.log10(255 * 255 / (se / #a))
end

-- The tightly packed RGBA bytes of a frame (rows without padding).
function helper.frame_bytes(frame)
  local ffi = require 'ffi'
  local parts = {}
  for y = 0, frame.height - 1 do
    parts[#parts + 1] = ffi.string(frame.data + y * frame.stride, frame.width * 4)
  end
  return table.concat(parts)
end

-- The bounding box minx, maxx, miny, maxy of a frame's drawn pixels (red
-- above 0), optionally of rows y0..y1 only; maxx is -1 when none is drawn.
function helper.ink_box(f, y0, y1)
  local minx, maxx, miny, maxy = 1e9, -1, 1e9, -1
  for y = y0 or 0, y1 or f.height - 1 do
    for x = 0, f.width - 1 do
      if f:get(x, y) > 0 then
        minx, maxx = math.min(minx, x), math.max(maxx, x)
        miny, maxy = math.min(miny, y), math.max(maxy, y)
      end
    end
  end
  return minx, maxx, miny, maxy
end

-- Every name in a directory, hidden ones too, sorted ({} when it is missing).
function helper.ls(dir)
  local p = io.popen('ls -A ' .. shell_quote(dir) .. ' 2>/dev/null')
  local names = {}
  for name in p:lines() do names[#names + 1] = name end
  p:close()
  table.sort(names)
  return names
end

-- The output temporaries (.NAME.<pid>.<random>.part, or an old-style
-- NAME.part) in a directory, sorted: empty when no writer left one.
function helper.temporaries(dir)
  local names = {}
  for _, name in ipairs(helper.ls(dir)) do
    if name:match('%.part$') then names[#names + 1] = name end
  end
  return names
end

-- The temporaries left for one output path (in its folder): empty when its
-- writer cleaned up.
function helper.temporaries_of(path)
  local dir, name = path:match('^(.*)/([^/]+)$')
  if not dir then dir, name = '.', path end
  local left = {}
  for _, t in ipairs(helper.temporaries(dir)) do
    if t == name .. '.part' or t:sub(1, #name + 2) == '.' .. name .. '.' then left[#left + 1] = t end
  end
  return left
end

return helper
