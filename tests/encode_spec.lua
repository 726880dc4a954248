-- The encoder through vs.write, checked with ffprobe/ffmpeg as the oracle.
local vs = require 'vstudio'
local h = require 'helper'

-- Pushes n frames whose red channel encodes the frame number.
local function write(path, n, w, hgt, opts)
  local wr = vs.write(path, opts)
  local f = vs.frame(w, hgt)
  for i = 0, n - 1 do wr:push(f:fill((i * 20) % 256, 90, 200)) end
  return wr:close()
end

describe('vs.write', function()
  local dir
  before_each(function() dir = h.tmpdir() end)
  after_each(h.cleanup)

  it('writes H.264 MP4 with every frame, tail included', function()
    local out = dir .. '/a.mp4'
    assert.are.equal(37, write(out, 37, 160, 120))
    local s = h.ffprobe_stream(out)
    assert.are.equal('h264', s.codec_name)
    assert.are.equal('yuv420p', s.pix_fmt)
    assert.are.equal(160, s.width)
    assert.are.equal(37, h.ffprobe_frames(out))
    assert.is_false(h.exists(out .. '.part'))
  end)

  it('keeps a rational frame rate and metadata', function()
    local out = dir .. '/r.mkv'
    write(out, 4, 64, 48, { fps = '30000/1001', title = 'hello vstudio' })
    assert.are.equal('30000/1001', h.ffprobe_stream(out).r_frame_rate)
    local title = h.sh('ffprobe -v error -show_entries format_tags=title -of csv=p=0 ' .. h.q(out))
    assert.are.equal('hello vstudio', title:match('[^\n]+'))
  end)

  it('is lossless with crf 0 (flat colours come back exactly)', function()
    local out = dir .. '/l.mp4'
    write(out, 5, 64, 48, { crf = 0 })
    local frames = h.ffmpeg_rgba_frames(out, 64, 48)
    assert.are.equal(5, #frames)
    for i, bytes in ipairs(frames) do
      local ref = vs.frame(64, 48):fill(((i - 1) * 20) % 256, 90, 200)
      assert.is_true(h.psnr(bytes, h.frame_bytes(ref)) > 40, 'frame ' .. (i - 1))
    end
  end)

  it('pads odd sizes by edge replication and says so', function()
    local out = dir .. '/odd.mp4'
    local _, err, rc = h.sh('cd ' .. h.q(dir) .. ' && luajit -e ' .. h.q(
      "package.path='" .. os.getenv('PWD') .. "/lua/?.lua;" .. os.getenv('PWD') .. "/lua/?/init.lua;'..package.path " ..
      "local vs=require'vstudio' local w=vs.write('odd.mp4') w:push(vs.frame(641,481):fill(10,20,30)) w:close()"))
    assert.are.equal(0, rc, err)
    assert.truthy(err:find('641x481 padded to 642x482', 1, true))
    local s = h.ffprobe_stream(out)
    assert.are.equal(642, s.width)
    assert.are.equal(482, s.height)
  end)

  it('tags BT.709 from 720 lines and BT.601 below', function()
    write(dir .. '/hd.mp4', 1, 1280, 720, { preset = 'ultrafast' })
    write(dir .. '/sd.mp4', 1, 320, 240)
    assert.are.equal('bt709', h.ffprobe_stream(dir .. '/hd.mp4').color_space)
    assert.are.equal('smpte170m', h.ffprobe_stream(dir .. '/sd.mp4').color_space)
    assert.are.equal('tv', h.ffprobe_stream(dir .. '/hd.mp4').color_range)
  end)

  it('writes other codecs in their containers', function()
    for _, case in ipairs {
      { 'h.mkv', 'libx265', 'hevc' }, { 'v.webm', nil, 'vp9' }, { 'm.avi', 'mpeg4', 'mpeg4' },
    } do
      local out = dir .. '/' .. case[1]
      write(out, 6, 64, 48, { codec = case[2] })
      assert.are.equal(case[3], h.ffprobe_stream(out).codec_name)
      assert.are.equal(6, h.ffprobe_frames(out))
    end
  end)

  it('writes y4m and a PNG sequence', function()
    write(dir .. '/s.y4m', 3, 64, 48)
    assert.are.equal(3, h.ffprobe_frames(dir .. '/s.y4m'))
    write(dir .. '/seq', 3, 64, 48, { format = 'png' })
    for i = 0, 2 do
      local f = vs.load(string.format('%s/seq/%06d.png', dir, i))
      assert.are.same({ (i * 20) % 256, 90, 200, 255 }, { f:get(5, 5) })
    end
  end)

  it('streams y4m to stdout', function()
    local script = "package.path='" .. os.getenv('PWD') .. "/lua/?.lua;'..package.path " ..
      "local vs=require'vstudio' local w=vs.write('-') for i=1,4 do w:push(vs.frame(64,48)) end w:close()"
    local out, err, rc = h.sh('luajit -e ' .. h.q(script) .. ' | ffprobe -v error -count_frames ' ..
      '-show_entries stream=nb_read_frames -of csv=p=0 -')
    assert.are.equal(0, rc, err)
    assert.are.equal(4, tonumber(out:match('%d+')))
  end)

  it('names the frame whose size differs and leaves no file', function()
    local out = dir .. '/mis.mp4'
    local wr = vs.write(out)
    wr:push(vs.frame(64, 48))
    wr:push(vs.frame(64, 48))
    assert.has_error(function() wr:push(vs.frame(32, 32)) end,
      'vstudio: write: ' .. out .. ': frame 2: frame is 32x32 but the video is 64x48 (every frame must have the size of the first)')
    assert.is_false(h.exists(out))
    assert.is_false(h.exists(out .. '.part'))
  end)

  it('fails cleanly on a bad codec or an unwritable place', function()
    assert.has_error(function() write(dir .. '/b.mp4', 2, 64, 48, { codec = 'nope' }) end)
    assert.is_false(h.exists(dir .. '/b.mp4.part'))
    assert.has_error(function() write(dir .. '/missing/x.mp4', 2, 64, 48) end)
    assert.has_error(function() vs.write(dir .. '/x.mp4', { crf = 99 }) end)
    assert.has_error(function() vs.write(dir .. '/x.mp4', { colour = 1 }) end)
  end)

  it('leaves no output when a writer is dropped without close', function()
    local out = dir .. '/gc.mp4'
    do
      local wr = vs.write(out)
      wr:push(vs.frame(64, 48))
      assert.is_true(h.exists(out .. '.part'))
    end
    collectgarbage()
    collectgarbage()
    assert.is_false(h.exists(out))
    assert.is_false(h.exists(out .. '.part'))
  end)

  it('closes twice harmlessly', function()
    local wr = vs.write(dir .. '/twice.mp4')
    wr:push(vs.frame(64, 48))
    assert.are.equal(1, wr:close())
    assert.are.equal(1, wr:close())
  end)
end)
