-- image_spec.lua: vs.load / frame:save for PNG and JPEG. The ffmpeg CLI
-- makes the inputs and decodes them again as the independent oracle; the
-- JPEG kinds ffmpeg cannot write (progressive, grayscale, CMYK) are made by
-- calling libturbojpeg directly through the FFI.
local vs = require 'vstudio'
local ffi = require 'ffi'
local helper = require 'helper'
local q = helper.q

local W, H = 64, 48

-- full_chroma_int: upsample chroma as libjpeg does (ffmpeg's default is coarser).
local function ffmpeg_rgba(path)
  local out, err, rc = helper.sh('ffmpeg -v error -i ' .. q(path) ..
    ' -vf scale=flags=accurate_rnd+full_chroma_int -f rawvideo -pix_fmt rgba -')
  assert(rc == 0, err)
  return out
end

local function max_diff(a, b)
  assert.are.equal(#a, #b)
  local m = 0
  for i = 1, #a do
    local d = math.abs(a:byte(i) - b:byte(i))
    if d > m then m = d end
  end
  return m
end

local function make_png(dir, name, pix_fmt, extra)
  local path = dir .. '/' .. name .. '.png'
  local _, err, rc = helper.sh('ffmpeg -v error -y -f lavfi -i testsrc2=s=' .. W .. 'x' .. H .. ':d=0.04 ' ..
    (extra or '') .. ' -frames:v 1 -pix_fmt ' .. pix_fmt .. ' ' .. q(path))
  assert(rc == 0, err)
  return path
end

-- turbojpeg through the FFI: the encoder options ffmpeg's mjpeg lacks.
ffi.cdef [[
void *tjInitCompress(void);
int tjCompress2(void *handle, const unsigned char *srcBuf, int width, int pitch, int height,
                int pixelFormat, unsigned char **jpegBuf, unsigned long *jpegSize,
                int jpegSubsamp, int jpegQual, int flags);
void tjFree(unsigned char *buffer);
int tjDestroy(void *handle);
]]
local tj_ok, tj = pcall(ffi.load, 'turbojpeg')
local TJPF_RGBA, TJPF_CMYK, TJSAMP_420, TJSAMP_GRAY, TJFLAG_PROGRESSIVE = 7, 11, 2, 3, 16384

local function tj_write(path, pixels, pf, samp, flags)
  local h = tj.tjInitCompress()
  local buf = ffi.new('unsigned char *[1]')
  local size = ffi.new('unsigned long[1]')
  assert(tj.tjCompress2(h, pixels, W, W * 4, H, pf, buf, size, samp, 95, flags) == 0)
  helper.write_file(path, ffi.string(buf[0], size[0]))
  tj.tjFree(buf[0])
  tj.tjDestroy(h)
end

-- A smooth RGBA test pattern as a packed byte string.
local function pattern()
  local t = {}
  for y = 0, H - 1 do
    for x = 0, W - 1 do
      t[#t + 1] = string.char(x * 4, y * 5, (x + y) * 2, 255)
    end
  end
  return table.concat(t)
end

describe('vs.load PNG', function()
  local dir
  setup(function() dir = helper.tmpdir() end)
  teardown(helper.cleanup)

  -- Every kind ffmpeg's PNG encoder writes, plus palette+tRNS and Adam7.
  local kinds = {
    { 'gray', 'gray' }, { 'gray+alpha', 'ya8' }, { 'RGB', 'rgb24' }, { 'RGBA', 'rgba' },
    { 'palette', 'pal8' }, { '1-bit gray', 'monob' },
    { '16-bit RGB', 'rgb48be', 1 }, { '16-bit RGBA', 'rgba64be', 1 },
    { '16-bit gray', 'gray16be', 1 }, { '16-bit gray+alpha', 'ya16be', 1 },
    { 'interlaced RGB', 'rgb24', 0, '-flags +ildct' },
    { 'RGB with Sub filters', 'rgb24', 0, '-pred sub' }, { 'RGB with Up filters', 'rgb24', 0, '-pred up' },
    { 'RGB with Average filters', 'rgb24', 0, '-pred avg' }, { 'RGBA with Paeth filters', 'rgba', 0, '-pred paeth' },
    { 'RGBA with mixed filters', 'rgba', 0, '-pred mixed' }, { 'RGB with mixed filters', 'rgb24', 0, '-pred mixed' },
    { 'palette with tRNS', 'pal8', 0,
      "-vf \"format=rgba,geq=r='r(X\\,Y)':g='g(X\\,Y)':b='b(X\\,Y)':a='if(lt(X\\,32)\\,255\\,0)'," ..
      "split[a][b];[a]palettegen=reserve_transparent=1[p];[b][p]paletteuse=alpha_threshold=128\"" },
  }
  for i, k in ipairs(kinds) do
    local what, fmt, tolerance, extra = k[1], k[2], k[3] or 0, k[4]
    -- swscale rounds 16-bit to 8-bit with a +-1 error of its own; 8-bit kinds are exact.
    it('reads ' .. what .. ' as RGBA8 equal to ffmpeg\'s decode' .. (tolerance > 0 and ' (+-1)' or ''), function()
      local path = make_png(dir, 'k' .. i, fmt, extra)
      local f = vs.load(path)
      assert.are.equal(W, f.width)
      assert.are.equal(H, f.height)
      assert.is_true(max_diff(helper.frame_bytes(f), ffmpeg_rgba(path)) <= tolerance)
    end)
  end

  -- The fast path (libdeflate, png_unfilter.c's SIMD, our widening) against
  -- libpng's own decode of the same file (VSTUDIO_NO_LIBDEFLATE=1, read at
  -- each load) and, for 8-bit kinds, against ffmpeg's: noisy, with an odd
  -- width (67: no whole vector at the end of a row) and every filter.
  ffi.cdef [[
  int setenv(const char *name, const char *value, int overwrite);
  int unsetenv(const char *name);
  ]]
  local function load_by_libpng(path)
    ffi.C.setenv('VSTUDIO_NO_LIBDEFLATE', '1', 1)
    local ok, f = pcall(vs.load, path)
    ffi.C.unsetenv('VSTUDIO_NO_LIBDEFLATE')
    assert(ok, f)
    return f
  end
  for _, fmt in ipairs { 'rgb24', 'rgba', 'gray', 'ya8', 'pal8', 'rgb48be', 'rgba64be', 'gray16be', 'ya16be' } do
    it('reads ' .. fmt .. ' with every filter as libpng does' .. (fmt:match('%d%d') and '' or ' and ffmpeg does'),
      function()
      for _, pred in ipairs { 'none', 'sub', 'up', 'avg', 'paeth', 'mixed' } do
        local path = dir .. '/fast-' .. fmt .. '-' .. pred .. '.png'
        -- varying alpha; 16-bit samples whose low bytes vary too (a LUT over 16-bit values)
        local vf = (fmt == 'rgba' or fmt == 'ya8') and ',format=rgba,colorchannelmixer=aa=0:ar=0.5:ag=0.5' or
          (fmt == 'gray16be' or fmt == 'ya16be') and ",format=gray16le,lut=y='mod(val*7919\\,65536)'" or
          fmt:match('%d%d') and ",format=rgba64le,lutrgb=r='mod(val*7919\\,65536)':g='mod(val*7907\\,65536)':" ..
            "b='mod(val*7901\\,65536)':a='mod(val*31\\,65536)'" or ''
        local _, err, rc = helper.sh('ffmpeg -v error -y -f lavfi -i testsrc2=s=67x37:d=0.04 -vf "noise=alls=30:allf=t' ..
          vf .. '" -frames:v 1 -pred ' .. pred .. ' -pix_fmt ' .. fmt .. ' ' .. q(path))
        assert(rc == 0, err)
        local got = helper.frame_bytes(vs.load(path))
        assert.are.equal(helper.frame_bytes(load_by_libpng(path)), got, fmt .. ' ' .. pred)
        if not fmt:match('%d%d') then assert.are.equal(ffmpeg_rgba(path), got, fmt .. ' ' .. pred) end
      end
    end)
  end

  it('sees the tRNS transparency of a palette image', function()
    local f = vs.load(dir .. '/k18.png')
    assert.are.equal(255, select(4, f:get(0, 0)))
    assert.are.equal(0, select(4, f:get(W - 1, 0)))
  end)

  it('round-trips RGBA and opaque frames through frame:save bit-exactly', function()
    local f = vs.load(dir .. '/k4.png')
    f:set(3, 3, 1, 2, 3, 4)
    f:save(dir .. '/rt.PNG')
    assert.are.equal(helper.frame_bytes(f), helper.frame_bytes(vs.load(dir .. '/rt.PNG')))
    assert.are.equal(helper.frame_bytes(f), ffmpeg_rgba(dir .. '/rt.PNG'))
    local o = vs.load(dir .. '/k3.png')
    o:save(dir .. '/opaque.png')
    assert.are.equal('rgb24', helper.ffprobe_stream(dir .. '/opaque.png').pix_fmt)
    assert.are.equal(helper.frame_bytes(o), helper.frame_bytes(vs.load(dir .. '/opaque.png')))
  end)

  it('reads a PNG split over many IDAT chunks (noise, 320x240)', function()
    local path = dir .. '/noise.png'
    local _, err, rc = helper.sh('ffmpeg -v error -f lavfi -i testsrc2=s=320x240:d=0.04 -vf noise=alls=40:allf=t ' ..
      '-frames:v 1 -pix_fmt rgba ' .. q(path))
    assert(rc == 0, err)
    local f = vs.load(path)
    f:save(dir .. '/noise2.png') -- libpng writes 8 KiB IDAT chunks
    assert.is_true(#helper.read_file(dir .. '/noise2.png') > 3 * 8192)
    assert.are.equal(ffmpeg_rgba(path), helper.frame_bytes(vs.load(dir .. '/noise2.png')))
  end)

  it('leaves no .part file behind', function()
    vs.frame(8, 8):save(dir .. '/small.png')
    assert.is_true(helper.exists(dir .. '/small.png'))
    assert.are.same({}, helper.temporaries_of(dir .. '/small.png'))
  end)
end)

describe('vs.load JPEG', function()
  local dir
  setup(function() dir = helper.tmpdir() end)
  teardown(helper.cleanup)

  it('reads a baseline JPEG as ffmpeg does', function()
    local path = dir .. '/b.jpg'
    local _, err, rc = helper.sh('ffmpeg -v error -f lavfi -i testsrc2=s=64x48:d=0.04 -frames:v 1 -q:v 2 ' .. q(path))
    assert(rc == 0, err)
    local f = vs.load(path)
    assert.are.equal(W, f.width)
    local p = helper.psnr(helper.frame_bytes(f), ffmpeg_rgba(path))
    assert.is_true(p > 32, 'psnr ' .. p)
  end)

  it('saves within a small tolerance and honours quality', function()
    assert.are.equal(W * 4, vs.frame(W, H).stride)
    local src = vs.frame(W, H)
    ffi.copy(src.data, pattern(), W * H * 4) -- stride is W * 4 at this width
    src:save(dir .. '/hi.jpeg')
    src:save(dir .. '/lo.JPG', { quality = 10 })
    local hi, lo = vs.load(dir .. '/hi.jpeg'), vs.load(dir .. '/lo.JPG')
    local p_hi = helper.psnr(helper.frame_bytes(src), helper.frame_bytes(hi))
    local p_lo = helper.psnr(helper.frame_bytes(src), helper.frame_bytes(lo))
    assert.is_true(p_hi > 30, 'quality 90 psnr ' .. p_hi)
    assert.is_true(p_lo < p_hi)
    assert.is_true(#helper.read_file(dir .. '/lo.JPG') < #helper.read_file(dir .. '/hi.jpeg'))
    assert.is_true(helper.psnr(helper.frame_bytes(hi), ffmpeg_rgba(dir .. '/hi.jpeg')) > 35)
  end)

  it('rejects a quality outside 1..100', function()
    assert.has_error(function() vs.frame(4, 4):save(dir .. '/q.jpg', { quality = 101 }) end)
  end)

  local function tj_case(name, pf, samp, flags, src)
    it('reads a ' .. name .. ' JPEG as ffmpeg does', function()
      if not tj_ok then pending('libturbojpeg not loadable: ' .. tostring(tj)) return end
      local path = dir .. '/' .. name .. '.jpg'
      tj_write(path, src, pf, samp, flags)
      local f = vs.load(path)
      assert.are.equal(W, f.width)
      assert.are.equal(H, f.height)
      local p = helper.psnr(helper.frame_bytes(f), ffmpeg_rgba(path))
      assert.is_true(p > 35, name .. ' psnr ' .. p)
      assert.are.equal(255, select(4, f:get(10, 10)))
    end)
  end
  tj_case('progressive', TJPF_RGBA, TJSAMP_420, TJFLAG_PROGRESSIVE, pattern())
  tj_case('grayscale', TJPF_RGBA, TJSAMP_GRAY, 0, pattern())
  tj_case('progressive grayscale', TJPF_RGBA, TJSAMP_GRAY, TJFLAG_PROGRESSIVE, pattern())
  tj_case('CMYK', TJPF_CMYK, TJSAMP_420, 0, pattern())

  it('gives gray JPEGs R = G = B', function()
    if not tj_ok then pending('libturbojpeg not loadable') return end
    local r, g, b = vs.load(dir .. '/grayscale.jpg'):get(20, 20)
    assert.are.equal(r, g)
    assert.are.equal(g, b)
  end)
end)

describe('image errors', function()
  local dir
  setup(function()
    dir = helper.tmpdir()
    local _, err, rc = helper.sh('ffmpeg -v error -f lavfi -i testsrc2=s=320x240:d=0.04 -frames:v 1 ' .. q(dir .. '/good.png') ..
      ' && ffmpeg -v error -f lavfi -i testsrc2=s=320x240:d=0.04 -frames:v 1 ' .. q(dir .. '/good.jpg'))
    assert(rc == 0, err)
  end)
  teardown(helper.cleanup)

  local function load_error(path)
    local ok, err = pcall(vs.load, path)
    assert.is_false(ok)
    return err
  end

  it('names a missing file', function()
    local err = load_error(dir .. '/nope.png')
    assert.matches('nope%.png: cannot open %(No such file or directory%)', err)
  end)

  it('says a zero-byte file is empty', function()
    helper.write_file(dir .. '/empty.png', '')
    assert.matches('empty%.png: empty file', load_error(dir .. '/empty.png'))
    helper.write_file(dir .. '/empty.jpg', '')
    assert.matches('empty%.jpg: empty file', load_error(dir .. '/empty.jpg'))
  end)

  it('says a truncated PNG ends early', function()
    local data = helper.read_file(dir .. '/good.png')
    helper.write_file(dir .. '/half.png', data:sub(1, math.floor(#data / 2)))
    assert.matches('half%.png: truncated PNG %(IDAT ends early%)', load_error(dir .. '/half.png'))
    helper.write_file(dir .. '/head.png', data:sub(1, 20))
    assert.matches('head%.png: truncated PNG %(header ends early%)', load_error(dir .. '/head.png'))
  end)

  it('says a truncated JPEG ends early', function()
    local data = helper.read_file(dir .. '/good.jpg')
    helper.write_file(dir .. '/half.jpg', data:sub(1, math.floor(#data / 2)))
    assert.matches('half%.jpg: truncated JPEG', load_error(dir .. '/half.jpg'))
  end)

  it('says a corrupt PNG is corrupt and survives garbage image data', function()
    local data = helper.read_file(dir .. '/good.png')
    local idat = data:find('IDAT', 1, true)
    local bad = data:sub(1, idat + 3) .. string.rep('\255', 200) .. data:sub(idat + 204)
    helper.write_file(dir .. '/bad.png', bad)
    assert.matches('bad%.png: corrupt PNG %(', load_error(dir .. '/bad.png'))
    -- the frame API still works after a libpng error
    assert.are.equal(320, vs.load(dir .. '/good.png').width)
  end)

  it('refuses a PNG with a few flipped bits in its image data instead of showing wrong pixels', function()
    -- stored (uncompressed) deflate blocks: a flipped byte is a wrong pixel
    -- that only the checksums see. RGB goes through the libdeflate fast path
    -- when present, gray through libpng.
    for _, name in ipairs { 'rgb24', 'gray' } do
      local _, err, rc = helper.sh('ffmpeg -v error -f lavfi -i testsrc2=s=320x240:d=0.04 -frames:v 1 -pix_fmt ' ..
        name .. ' -compression_level 0 ' .. q(dir .. '/' .. name .. '.png'))
      assert(rc == 0, err)
    end
    for _, name in ipairs { 'rgb24', 'gray' } do
      local data = helper.read_file(dir .. '/' .. name .. '.png')
      local at = data:find('IDAT', 1, true) + 4 + 1000   -- inside the compressed data
      local flipped = data:sub(1, at - 1) .. string.char(bit.bxor(data:byte(at), 0x55)) .. data:sub(at + 1)
      helper.write_file(dir .. '/flipped-' .. name .. '.png', flipped)
      assert.matches('flipped%-' .. name .. '%.png: corrupt PNG', load_error(dir .. '/flipped-' .. name .. '.png'))
    end
  end)

  it('says a corrupt JPEG is corrupt', function()
    local data = helper.read_file(dir .. '/good.jpg')
    local mid = math.floor(#data / 2)
    helper.write_file(dir .. '/bad.jpg', data:sub(1, mid) .. string.rep('\17\34\51', 300) .. data:sub(mid + 901))
    assert.matches('bad%.jpg: corrupt JPEG', load_error(dir .. '/bad.jpg'))
    -- a start-of-image marker and nothing a decoder can use
    helper.write_file(dir .. '/soi.jpg', '\255\216' .. string.rep('A', 300))
    assert.matches('soi%.jpg: corrupt JPEG %(no frame header%)', load_error(dir .. '/soi.jpg'))
  end)

  it('says a non-image file is not a PNG or not a JPEG', function()
    helper.write_file(dir .. '/text.png', 'hello, this is text and not an image at all')
    assert.matches('text%.png: not a PNG file', load_error(dir .. '/text.png'))
    helper.write_file(dir .. '/text.jpg', 'hello, this is text and not an image at all')
    assert.matches('text%.jpg: not a JPEG file', load_error(dir .. '/text.jpg'))
    os.execute('cp ' .. q(dir .. '/good.jpg') .. ' ' .. q(dir .. '/disguised.png'))
    assert.matches('disguised%.png: not a PNG file %(it is a JPEG', load_error(dir .. '/disguised.png'))
  end)

  it('refuses an unknown extension on load and save', function()
    assert.matches('x%.gif: unknown image format %(use %.png, %.jpg or %.jpeg%)', load_error(dir .. '/x.gif'))
    assert.matches('noext: unknown image format', load_error(dir .. '/noext'))
    local ok, err = pcall(function() vs.frame(4, 4):save(dir .. '/x.bmp') end)
    assert.is_false(ok)
    assert.matches('x%.bmp: unknown image format', err)
    assert.are.same({}, helper.temporaries_of(dir .. '/x.bmp'))
  end)

  it('says a directory is not a regular file', function()
    os.execute('mkdir ' .. q(dir .. '/d.png'))
    assert.matches('d%.png: not a regular file', load_error(dir .. '/d.png'))
  end)

  it('refuses PNG dimensions beyond the frame limit', function()
    -- 40000 x 1 gray: a valid header, then data we never need to read
    local f = vs.load(dir .. '/good.png')
    f:save(dir .. '/small.png')
    local data = helper.read_file(dir .. '/small.png')
    -- patch the IHDR width (bytes 17..20) and its CRC (bytes 30..33, over type and data)
    local ihdr = 'IHDR' .. string.char(0, 0, 0x9c, 0x40) .. data:sub(21, 29)
    local wide = data:sub(1, 12) .. ihdr .. helper.be32(helper.crc32(ihdr)) .. data:sub(34)
    helper.write_file(dir .. '/wide.png', wide)
    assert.matches('wide%.png: .*40000', load_error(dir .. '/wide.png'))
  end)

  it('refuses a PNG whose header claims more pixels than its data can hold, at once', function()
    -- a small file whose IHDR says 30000 x 30000 (3.6 GB as RGBA): refused before allocating
    for _, fmt in ipairs { 'rgb24', 'gray' } do
      local small = dir .. '/small-' .. fmt .. '.png'
      local _, err, rc = helper.sh('ffmpeg -v error -y -f lavfi -i testsrc2=s=16x16:d=0.04 -frames:v 1 -pix_fmt ' ..
        fmt .. ' ' .. q(small))
      assert(rc == 0, err)
      local data = helper.read_file(small)
      local ihdr = 'IHDR' .. helper.be32(30000) .. helper.be32(30000) .. data:sub(25, 29)
      local huge = dir .. '/huge-' .. fmt .. '.png'
      helper.write_file(huge, data:sub(1, 12) .. ihdr .. helper.be32(helper.crc32(ihdr)) .. data:sub(34))
      local t0 = os.time()
      assert.matches('huge%-' .. fmt .. '%.png: truncated PNG %(.*30000x30000', load_error(huge))
      assert.is_true(os.time() - t0 <= 2)
    end
  end)

  -- vs.load(path) in a new luajit (env first, e.g. 'timeout 20 env VAR=1'): "loaded" or the error
  local function load_in_luajit(path, env)
    local script = dir .. '/load.lua'
    helper.write_file(script, ('package.path = %q\nlocal ok, err = pcall(require("vstudio").load, arg[1])\n' ..
      'io.write(ok and "loaded" or err)\n'):format(package.path))
    -- under ASan (make check) luajit needs the sanitizer runtime preloaded
    local preload = os.getenv('LD_PRELOAD') and 'LD_PRELOAD=' .. q(os.getenv('LD_PRELOAD')) .. ' ' or ''
    return helper.sh((env or '') .. ' ' .. preload .. 'luajit ' .. q(script) .. ' ' .. q(path))
  end

  it('gives one verdict on a bad chunk CRC with or without libdeflate', function()
    -- rgb24 goes through the libdeflate fast path when it is installed;
    -- VSTUDIO_NO_LIBDEFLATE=1 makes every PNG go through libpng
    local data = helper.read_file(dir .. '/good.png')
    local idat = data:find('IDAT', 1, true) - 4
    local n = data:byte(idat) * 2 ^ 24 + data:byte(idat + 1) * 2 ^ 16 + data:byte(idat + 2) * 2 ^ 8 + data:byte(idat + 3)
    local crc_at = idat + 8 + n
    local bad = data:sub(1, crc_at - 1) .. string.char(bit.bxor(data:byte(crc_at), 1)) .. data:sub(crc_at + 1)
    helper.write_file(dir .. '/badcrc.png', bad)
    local verdicts = {}
    for _, env in ipairs { '', 'VSTUDIO_NO_LIBDEFLATE=1' } do
      local out = load_in_luajit(dir .. '/badcrc.png', env)
      assert.matches('badcrc%.png: corrupt PNG', out)
      verdicts[#verdicts + 1] = out
      -- the intact file loads both ways
      assert.are.equal('loaded', (load_in_luajit(dir .. '/good.png', env)))
    end
    assert.are.equal(verdicts[1], verdicts[2])
  end)

  it('refuses a FIFO without waiting for a writer', function()
    os.execute('mkfifo ' .. q(dir .. '/fifo.png'))
    local out, _, rc = load_in_luajit(dir .. '/fifo.png', 'timeout 20 env')
    assert.are.equal(0, rc)
    assert.matches('fifo%.png: not a regular file', out)
  end)

  it('says a JPEG cut inside its header is truncated', function()
    local data = helper.read_file(dir .. '/good.jpg')
    for _, n in ipairs { 30, 100 } do
      helper.write_file(dir .. '/cut.jpg', data:sub(1, n))
      assert.matches('cut%.jpg: truncated JPEG', load_error(dir .. '/cut.jpg'))
    end
  end)

  it('says where it cannot write', function()
    local ok, err = pcall(function() vs.frame(4, 4):save(dir .. '/no/such/dir/x.png') end)
    assert.is_false(ok)
    assert.matches('x%.png: cannot create: No such file or directory', err)
  end)
end)

describe('vstudio convert from PNG rows', function()
  local dir
  setup(function() dir = helper.tmpdir() end)
  teardown(helper.cleanup)

  -- convert fills its YUV pictures from decoded row pairs (no RGBA frame in
  -- between); VSTUDIO_NO_LIBDEFLATE=1 sends every PNG through libpng and the
  -- RGBA frame instead. Lossless output (--crf 0) must decode the same.
  local cases = {
    { 'RGB, mixed filters, BT.601 size', 'rgb24', 66, 38, '-pred mixed', '' },
    { 'RGBA over --background, Paeth', 'rgba', 66, 38, '-pred paeth', '--background white' },
    { 'RGB at 720p (BT.709), Paeth', 'rgb24', 1280, 720, '-pred paeth', '' },
    { 'palette', 'pal8', 66, 38, '-pred up', '' },
    { '16-bit RGBA', 'rgba64be', 66, 38, '-pred avg', '' },
  }
  for i, c in ipairs(cases) do
    local what, fmt, w, h, pred, opts = c[1], c[2], c[3], c[4], c[5], c[6]
    it('gives the video the RGBA path gives: ' .. what, function()
      local d = dir .. '/f' .. i
      os.execute('mkdir ' .. q(d))
      local alpha = fmt:match('a') and ',format=rgba,colorchannelmixer=aa=0:ar=0.5:ag=0.5' or ''
      local _, err, rc = helper.sh(('ffmpeg -v error -f lavfi -i testsrc2=s=%dx%d:r=30 -vf "noise=alls=30:allf=t%s" ' ..
        '-frames:v 3 %s -pix_fmt %s %s'):format(w, h, alpha, pred, fmt, q(d .. '/%02d.png')))
      assert(rc == 0, err)
      local outs = {}
      for k, env in ipairs { '', 'VSTUDIO_NO_LIBDEFLATE=1 ' } do
        outs[k] = dir .. '/f' .. i .. '-' .. k .. '.mp4'
        _, err, rc = helper.sh(env .. q(helper.bin) .. ' convert -q --crf 0 ' .. opts .. ' ' .. q(d) .. ' -o ' ..
          q(outs[k]))
        assert.are.equal(0, rc, err)
      end
      local a, b = helper.framemd5(outs[1]), helper.framemd5(outs[2])
      assert.are.equal(3, #a)
      assert.are.same(b, a)
    end)
  end
end)
