-- The encoder (src/encode.c): what it writes, checked with ffprobe/ffmpeg as
-- the oracle. Frames go in through vs.write and through the C picture API
-- (what the render engine and convert use from their worker threads).
local ffi = require 'ffi'
local vs = require 'vstudio'
local C = require('vstudio.core').C
local h = require 'helper'

-- luajit in a subprocess; under ASan (make check) it needs the sanitizer
-- runtime preloaded, which helper.sh drops for other tools.
local LUAJIT = (os.getenv('LD_PRELOAD') and 'LD_PRELOAD=' .. h.q(os.getenv('LD_PRELOAD')) .. ' ' or '') .. 'luajit'

-- Pushes n frames whose red channel encodes the frame number.
local function write(path, n, w, hgt, opts)
  local wr = vs.write(path, opts)
  local f = vs.frame(w, hgt)
  for i = 0, n - 1 do wr:push(f:fill((i * 20) % 256, 90, 200)) end
  return wr:close()
end

-- A frame of deterministic noise (every byte different from its neighbours).
local function noise(w, hgt, seed)
  local f = vs.frame(w, hgt)
  local x = seed
  for y = 0, hgt - 1 do
    local row = f.data + y * f.stride
    for i = 0, w * 4 - 1 do
      x = (x * 1103515245 + 12345) % 2147483648
      row[i] = i % 4 == 3 and 255 or math.floor(x / 65536) % 256
    end
  end
  return f
end

local function ffprobe(args, path)
  return (h.sh('ffprobe -v error ' .. args .. ' -of csv=p=0 ' .. h.q(path)))
end

describe('encoder', function()
  local dir
  before_each(function() dir = h.tmpdir() end)
  after_each(h.cleanup)

  it('writes H.264 MP4 yuv420p with every frame, B-frame tail included', function()
    local out = dir .. '/a.mp4'
    assert.are.equal(37, write(out, 37, 160, 120))
    local s = h.ffprobe_stream(out)
    assert.are.equal('h264', s.codec_name)
    assert.are.equal('yuv420p', s.pix_fmt)
    assert.are.equal(160, s.width)
    assert.are.equal(120, s.height)
    assert.are.equal('30/1', s.r_frame_rate)
    assert.is_true(s.has_b_frames > 0) -- preset medium: the tail needs a real flush
    assert.are.equal(37, h.ffprobe_frames(out))
    assert.are.same({}, h.temporaries_of(out))
    -- +faststart: the moov atom comes before mdat
    local data = h.read_file(out)
    assert.is_true(data:find('moov', 1, true) < data:find('mdat', 1, true))
  end)

  it('keeps 30000/1001 and metadata in MP4 and MKV', function()
    for _, name in ipairs { 'r.mp4', 'r.mkv' } do
      local out = dir .. '/' .. name
      write(out, 4, 64, 48, { fps = '30000/1001', title = 'hello vstudio', artist = 'me' })
      assert.are.equal('30000/1001', h.ffprobe_stream(out).r_frame_rate)
      assert.are.equal(4, h.ffprobe_frames(out))
      assert.are.equal('hello vstudio', ffprobe('-show_entries format_tags=title', out):match('[^\n]+'))
      assert.are.equal('me', ffprobe('-show_entries format_tags=artist', out):match('[^\n]+'))
    end
  end)

  it('is lossless with crf 0: flat YUV colours within a unit, RGB codecs exact', function()
    local out = dir .. '/l.mp4'
    write(out, 5, 64, 48, { crf = 0 })
    local frames = h.ffmpeg_rgba_frames(out, 64, 48, 'exact')
    assert.are.equal(5, #frames)
    for i, bytes in ipairs(frames) do
      local ref = vs.frame(64, 48):fill(((i - 1) * 20) % 256, 90, 200)
      assert.is_true(h.psnr(bytes, h.frame_bytes(ref)) > 45, 'frame ' .. (i - 1))
    end
    -- noise survives bit-exactly through RGB codecs
    local src = { noise(64, 48, 1), noise(64, 48, 2), noise(64, 48, 3) }
    for _, opts in ipairs { { codec = 'ffv1', pix_fmt = 'bgr0' }, { codec = 'libx264rgb', crf = 0 } } do
      local exact = dir .. '/' .. opts.codec .. '.mkv'
      local wr = vs.write(exact, opts)
      for _, f in ipairs(src) do wr:push(f) end
      wr:close()
      local back = h.ffmpeg_rgba_frames(exact, 64, 48)
      assert.are.equal(3, #back)
      for i = 1, 3 do assert.are.equal(h.frame_bytes(src[i]), back[i], opts.codec .. ' frame ' .. (i - 1)) end
    end
  end)

  it('is exactly lossless with crf 0 for every codec that has the mode, and refuses the rest', function()
    local src = { noise(64, 64, 11), noise(64, 64, 12) } -- SVT-AV1 takes no less than 64 lines
    local function push_all(out, opts)
      local wr = vs.write(out, opts)
      for _, f in ipairs(src) do wr:push(f) end
      return wr:close()
    end
    -- the reference: the same frames converted to yuv420p and stored raw
    push_all(dir .. '/ref.y4m', {})
    local function yuv(path)
      return (h.sh('ffmpeg -v error -i ' .. h.q(path) .. ' -f rawvideo -pix_fmt yuv420p -'))
    end
    local ref = yuv(dir .. '/ref.y4m')
    assert.are.equal(2 * 64 * 64 * 3 / 2, #ref)
    for _, case in ipairs { { 'x.mp4', 'libx264' }, { 'x.mkv', 'libx265' }, { 'v.webm', 'libvpx-vp9' },
                            { 'f.mkv', 'ffv1' } } do
      local out = dir .. '/' .. case[1]
      push_all(out, { codec = case[2], crf = 0, preset = case[2]:match('^libx') and 'ultrafast' or nil })
      assert.are.equal(ref, yuv(out), case[2])
    end
    for _, codec in ipairs { 'mpeg4', 'libsvtav1' } do
      local out = dir .. '/' .. codec .. '.mkv'
      local ok, err = pcall(push_all, out, { codec = codec, crf = 0 })
      assert.is_false(ok, codec)
      assert.matches('codec ' .. codec .. ' has no lossless mode for crf 0; use codec libx264, ffv1 or png', err)
      assert.is_false(h.exists(out), codec)
      assert.are.same({}, h.temporaries_of(out), codec)
    end
    -- other crf values are the codec's lossy scale, as before
    assert.are.equal(2, push_all(dir .. '/m.avi', { codec = 'mpeg4', crf = 20 }))
  end)

  it('pads odd sizes by edge replication, says so once naming the file, never fails', function()
    local out = dir .. '/odd.mp4'
    local pre = "package.path='" .. os.getenv('PWD') .. "/lua/?.lua;'..package.path local vs=require'vstudio' "
    local code = pre .. "local w=vs.write('" .. out .. "',{crf=0,preset='ultrafast'}) " ..
      "local f=vs.frame(641,481) f:fill(0,0,255) " ..
      "for i=1,3 do w:push(f) end w:close()"
    local _, err, rc = h.sh(LUAJIT .. ' -e ' .. h.q(code))
    assert.are.equal(0, rc, err)
    local _, n = err:gsub('padded', '')
    assert.are.equal(1, n, err)
    assert.truthy(err:find('vstudio: note: ' .. out .. ': 641x481 padded to 642x482 for yuv420p', 1, true), err)
    local s = h.ffprobe_stream(out)
    assert.are.equal(642, s.width)
    assert.are.equal(482, s.height)
    assert.are.equal(3, h.ffprobe_frames(out))
    -- the added column and row repeat the edge: all blue
    local bytes = h.ffmpeg_rgba_frames(out, 642, 482)[1]
    local function px(x, y) return { bytes:byte((y * 642 + x) * 4 + 1, (y * 642 + x) * 4 + 3) } end
    for _, p in ipairs { px(641, 0), px(641, 481), px(0, 481), px(320, 240) } do
      assert.is_true(p[1] <= 2 and p[2] <= 2 and p[3] >= 253, table.concat(p, ','))
    end
  end)

  it('tags and converts BT.709 from 720 lines and BT.601 below, limited range', function()
    for _, case in ipairs { { 1280, 720, 'bt709' }, { 320, 240, 'smpte170m' } } do
      local out = dir .. '/c' .. case[2] .. '.mp4'
      local wr = vs.write(out, { crf = 0, preset = 'ultrafast' })
      wr:push(vs.frame(case[1], case[2]):fill(200, 50, 30))
      wr:push(vs.frame(case[1], case[2]):fill(30, 160, 220))
      wr:close()
      local s = h.ffprobe_stream(out)
      assert.are.equal(case[3], s.color_space)
      assert.are.equal(case[3], s.color_primaries)
      assert.are.equal(case[3] == 'bt709' and 'bt709' or 'smpte170m', s.color_transfer)
      assert.are.equal('tv', s.color_range)
      -- ffmpeg decodes by the tags; the wrong matrix would be off by 10+ levels
      local frames = h.ffmpeg_rgba_frames(out, case[1], case[2], 'exact')
      local want = { { 200, 50, 30 }, { 30, 160, 220 } }
      for k = 1, 2 do
        local got = { frames[k]:byte(1, 3) }
        for c = 1, 3 do
          assert.is_true(math.abs(got[c] - want[k][c]) <= 2,
            case[3] .. ' frame ' .. k .. ': ' .. table.concat(got, ','))
        end
      end
    end
  end)

  it('shows transparent pixels over black in video, keeps alpha in PNG and raw', function()
    local out = dir .. '/alpha.mkv'
    local wr = vs.write(out, { crf = 0, preset = 'ultrafast' })
    wr:push(vs.frame(64, 48):fill(255, 0, 0, 128)) -- half-transparent red: dark red on black
    wr:push(vs.frame(64, 48):fill(255, 255, 255, 0)) -- invisible white: black
    wr:close()
    local frames = h.ffmpeg_rgba_frames(out, 64, 48)
    local a, b = { frames[1]:byte(1, 3) }, { frames[2]:byte(1, 3) }
    assert.is_true(math.abs(a[1] - 128) <= 2 and a[2] <= 2 and a[3] <= 2, table.concat(a, ','))
    assert.is_true(b[1] <= 2 and b[2] <= 2 and b[3] <= 2, table.concat(b, ','))
    wr = vs.write(dir .. '/apng2', { format = 'png' })
    wr:push(vs.frame(64, 48):fill(255, 0, 0, 128))
    wr:close()
    assert.are.same({ 255, 0, 0, 128 }, { vs.load(dir .. '/apng2/000000.png'):get(3, 3) })
    wr = vs.write(dir .. '/a.raw', { format = 'raw' })
    wr:push(vs.frame(2, 1):fill(255, 0, 0, 128))
    wr:close()
    assert.are.same({ 255, 0, 0, 128 }, { h.read_file(dir .. '/a.raw'):byte(1, 4) })
  end)

  it('writes other codecs in their containers', function()
    for _, case in ipairs {
      { 'h.mkv', 'libx265', 'hevc' }, { 'v.webm', nil, 'vp9' }, { 'm.avi', 'mpeg4', 'mpeg4' },
      { 'q.mov', 'h264', 'h264' },
    } do
      local out = dir .. '/' .. case[1]
      write(out, 6, 64, 48, { codec = case[2] })
      assert.are.equal(case[3], h.ffprobe_stream(out).codec_name, case[1])
      assert.are.equal(6, h.ffprobe_frames(out), case[1])
      assert.are.equal(6, #h.ffmpeg_rgba_frames(out, 64, 48), case[1])
    end
  end)

  it('writes MJPEG and yuvj formats in full range, with the colours drawn', function()
    for _, case in ipairs { { 'm.avi', { codec = 'mjpeg' }, 'mjpeg' },
                            { 'j.mp4', { pix_fmt = 'yuvj420p', crf = 0 }, 'h264' } } do
      local out = dir .. '/' .. case[1]
      local opts = case[2]
      opts.fps = 10
      local w = vs.write(out, opts)
      local f = vs.frame(64, 48):fill(200, 40, 90)
      for _ = 1, 3 do w:push(f) end
      w:close()
      local st = h.ffprobe_stream(out)
      assert.are.equal(case[3], st.codec_name)
      assert.are.equal('pc', st.color_range)
      local px = h.ffmpeg_rgba_frames(out, 64, 48, 'exact')
      assert.are.equal(3, #px)
      local i = (24 * 64 + 32) * 4
      for c, want in ipairs { 200, 40, 90 } do
        assert.is_true(math.abs(px[2]:byte(i + c) - want) <= 3,
          ('%s channel %d: %d, drew %d'):format(case[1], c, px[2]:byte(i + c), want))
      end
    end
  end)

  it('writes RGB codecs into video files, decoding to exactly what was drawn', function()
    -- noise with some translucent pixels: rgba keeps alpha, the rest show it over black
    local src = { noise(33, 7, 7), noise(33, 7, 8), noise(33, 7, 9) }
    src[2]:set(4, 2, 10, 200, 30, 99)
    local flat = { src[1], src[2]:copy(), src[3] }
    flat[2]:set(4, 2, 4, 78, 12, 255)
    local cases = {
      { 'p.mov', 'png', 'rgba', src }, { 'p.mkv', 'png', 'rgba', src }, { 'p.mp4', 'png', 'rgba', src },
      { 'p.avi', 'png', 'rgba', src }, { 'f.mkv', 'ffv1', 'bgra', src, 'bgra' }, { 'f.avi', 'ffv1', 'bgra', src, 'bgra' },
      { 'q.mov', 'qtrle', 'argb', src }, { 'g.mkv', 'png', 'rgb24', flat, 'rgb24' },
    }
    for _, case in ipairs(cases) do
      local out = dir .. '/' .. case[1]
      local wr = vs.write(out, { codec = case[2], pix_fmt = case[5] })
      for _, f in ipairs(src) do wr:push(f) end
      assert.are.equal(3, wr:close(), case[1])
      assert.are.same({}, h.temporaries_of(out), case[1])
      local s = h.ffprobe_stream(out)
      assert.are.equal(case[2], s.codec_name, case[1])
      assert.are.equal(case[3], s.pix_fmt, case[1])
      assert.are.equal(33, s.width, case[1])
      assert.are.equal(3, h.ffprobe_frames(out), case[1])
      local back = h.ffmpeg_rgba_frames(out, 33, 7)
      assert.are.equal(3, #back, case[1])
      for i = 1, 3 do
        assert.are.equal(h.frame_bytes(case[4][i]), back[i], case[1] .. ' frame ' .. (i - 1))
      end
    end
  end)

  it('refuses a codec the container cannot hold, naming both, and leaves no file', function()
    for _, case in ipairs {
      { 'p.webm', 'png', 'the webm container cannot hold png video' },
      -- matroska would store it without the tag its decoder needs
      { 'q.mkv', 'qtrle', 'the matroska container cannot hold qtrle video' },
      -- the muxer itself refuses at the header
      { 'p.gif', 'png', 'the gif container cannot hold this png video %(rgba%)' },
    } do
      local out = dir .. '/' .. case[1]
      local ok, err = pcall(write, out, 2, 64, 48, { codec = case[2] })
      assert.is_false(ok, case[1])
      assert.matches(case[1]:gsub('%.', '%%.') .. ': ' .. case[3], err)
      assert.is_false(h.exists(out), case[1])
      assert.are.same({}, h.temporaries_of(out), case[1])
    end
  end)

  it('puts a keyframe every gop frames', function()
    local out = dir .. '/g.mp4'
    local wr = vs.write(out, { gop = 5, preset = 'ultrafast' })
    for _ = 1, 12 do wr:push(vs.frame(64, 48)) end
    wr:close()
    local keys = ffprobe('-select_streams v:0 -show_entries frame=key_frame', out)
    local flags = {}
    for k in keys:gmatch('%d') do flags[#flags + 1] = k end
    assert.are.equal('100001000010', table.concat(flags))
  end)

  it('writes y4m and raw RGBA files', function()
    write(dir .. '/s.y4m', 3, 64, 48)
    assert.are.equal(3, h.ffprobe_frames(dir .. '/s.y4m'))
    local s = h.ffprobe_stream(dir .. '/s.y4m')
    assert.are.equal('yuv420p', s.pix_fmt)
    local frames = h.ffmpeg_rgba_frames(dir .. '/s.y4m', 64, 48)
    assert.is_true(h.psnr(frames[2], h.frame_bytes(vs.frame(64, 48):fill(20, 90, 200))) > 40)

    local src = { noise(33, 7, 5), noise(33, 7, 6) }
    local wr = vs.write(dir .. '/r.rgba', { format = 'raw' })
    for _, f in ipairs(src) do wr:push(f) end
    wr:close()
    assert.are.equal(h.frame_bytes(src[1]) .. h.frame_bytes(src[2]), h.read_file(dir .. '/r.rgba'))
  end)

  it('streams y4m and raw RGBA to a file descriptor (pipe:N)', function()
    local pre = "package.path='" .. os.getenv('PWD') .. "/lua/?.lua;'..package.path local vs=require'vstudio' "
    local code = pre .. "local w=vs.write('pipe:3',{format=FMT}) for i=1,5 do w:push(vs.frame(64,48):fill(i,2,3)) end w:close()"
    local out, err, rc = h.sh(LUAJIT .. ' -e ' .. h.q(code:gsub('FMT', "'y4m'")) .. ' 3>&1 >/dev/null | ' ..
      'ffprobe -v error -count_frames -show_entries stream=nb_read_frames,width,height -of csv=p=0 -')
    assert.are.equal(0, rc, err)
    assert.are.equal('64,48,5', out:match('[^\n]+'))
    out, err, rc = h.sh(LUAJIT .. ' -e ' .. h.q(code:gsub('FMT', "'raw'")) .. ' 3>&1 >/dev/null')
    assert.are.equal(0, rc, err)
    assert.are.equal(5 * 64 * 48 * 4, #out)
    assert.are.same({ 5, 2, 3, 255 }, { out:byte(4 * 64 * 48 * 4 + 1, 4 * 64 * 48 * 4 + 4) })
  end)

  it('writes PNG and JPEG sequences into a directory', function()
    write(dir .. '/seq', 3, 64, 48, { format = 'png' })
    for i = 0, 2 do
      local f = vs.load(string.format('%s/seq/%06d.png', dir, i))
      assert.are.same({ (i * 20) % 256, 90, 200, 255 }, { f:get(5, 5) })
    end
    assert.is_false(h.exists(dir .. '/seq/000003.png'))
    local listing = h.sh('ls -A ' .. h.q(dir .. '/seq'))
    assert.are.equal('000000.png\n000001.png\n000002.png\n', listing) -- no hidden temporary files
    write(dir .. '/jpg/', 2, 64, 48, { format = 'jpg', quality = 95 })
    local f = vs.load(dir .. '/jpg/000001.jpg')
    local r, g, b = f:get(5, 5)
    assert.is_true(math.abs(r - 20) <= 3 and math.abs(g - 90) <= 3 and math.abs(b - 200) <= 3)
  end)

  it('takes pictures converted elsewhere, in flight together, or filled plane by plane', function()
    local out = dir .. '/pic.mkv'
    local o = ffi.new('vs_encoder_options')
    C.vs_encoder_options_init(o)
    o.crf = 0
    o.quiet = 1
    local enc = C.vs_encoder_open(out, 63, 47, o)
    assert.is_true(enc ~= nil)
    local w, hh = ffi.new('int[1]'), ffi.new('int[1]')
    assert.are.equal('yuv420p', ffi.string(C.vs_encoder_pix_fmt(enc, w, hh)))
    assert.are.same({ 64, 48 }, { w[0], hh[0] })
    -- three pictures converted before any is pushed (as workers do)
    local pics = {}
    for i = 1, 3 do
      pics[i] = C.vs_encoder_picture_get(enc)
      assert.are.equal(0, C.vs_picture_from_rgba(pics[i], vs.frame(63, 47):fill(i * 50, 100, 100)))
    end
    assert.are.equal(-1, C.vs_picture_from_rgba(C.vs_encoder_picture_get(enc), vs.frame(10, 10)))
    for i = 1, 3 do assert.are.equal(0, C.vs_encoder_push_picture(enc, pics[i])) end
    -- a picture filled directly (Y 235, U V 128: limited-range white)
    local pic = C.vs_encoder_picture_get(enc)
    for p = 0, 2 do
      local ls = ffi.new('int[1]')
      local plane = C.vs_picture_plane(pic, p, ls)
      local rows = p == 0 and 48 or 24
      ffi.fill(plane, ls[0] * rows, p == 0 and 235 or 128)
    end
    assert.is_true(C.vs_picture_plane(pic, 3, nil) == nil)
    assert.are.equal(0, C.vs_encoder_push_picture(enc, pic))
    assert.are.equal(4, tonumber(C.vs_encoder_frames(enc)))
    assert.are.equal(0, C.vs_encoder_close(enc))
    local frames = h.ffmpeg_rgba_frames(out, 64, 48)
    assert.are.equal(4, #frames)
    for i = 1, 3 do
      local r = frames[i]:byte(1)
      assert.is_true(math.abs(r - i * 50) <= 2, 'frame ' .. i .. ' red ' .. r)
    end
    assert.are.same({ 255, 255, 255 }, { frames[4]:byte(1, 3) })
  end)

  it('gives RGBA pictures for raw and image sinks', function()
    local o = ffi.new('vs_encoder_options')
    C.vs_encoder_options_init(o)
    o.format = 'raw'
    local enc = C.vs_encoder_open(dir .. '/p.raw', 5, 3, o)
    local w = ffi.new('int[1]')
    assert.are.equal('rgba', ffi.string(C.vs_encoder_pix_fmt(enc, w, nil)))
    assert.are.equal(5, w[0])
    local pic = C.vs_encoder_picture_get(enc)
    assert.is_true(C.vs_picture_plane(pic, 0, nil) == nil)
    C.vs_picture_release(pic)
    C.vs_encoder_abort(enc)
    assert.are.same({}, h.temporaries_of(dir .. '/p.raw'))
    assert.is_false(h.exists(dir .. '/p.raw'))
  end)
end)
