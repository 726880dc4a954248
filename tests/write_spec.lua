-- vs.write: the writer object (lazy open, close, abort, GC, errors).
-- What the encoder writes is checked in encode_spec.lua.
local vs = require 'vstudio'
local h = require 'helper'

-- luajit in a subprocess; under ASan (make check) it needs the sanitizer
-- runtime preloaded, which helper.sh drops for other tools.
local LUAJIT = (os.getenv('LD_PRELOAD') and 'LD_PRELOAD=' .. h.q(os.getenv('LD_PRELOAD')) .. ' ' or '') .. 'luajit'

-- A luajit one-liner that loads vstudio the way the specs do.
local function luajit(code)
  local pre = "package.path='" .. os.getenv('PWD') .. "/lua/?.lua;" .. os.getenv('PWD') ..
    "/lua/?/init.lua;'..package.path local vs=require'vstudio' "
  return LUAJIT .. ' -e ' .. h.q(pre .. code)
end

describe('vs.write', function()
  local dir
  before_each(function() dir = h.tmpdir() end)
  after_each(h.cleanup)

  it('opens at the first push with the size of the first frame', function()
    local out = dir .. '/lazy.mp4'
    local wr = vs.write(out, { fps = 25 })
    assert.are.same({}, h.temporaries(dir))
    wr:push(vs.frame(96, 64))
    assert.are.equal(1, #h.temporaries(dir))
    assert.is_false(h.exists(out))
    wr:push(vs.frame(96, 64))
    assert.are.equal(2, wr:close())
    assert.are.same({}, h.temporaries(dir))
    local s = h.ffprobe_stream(out)
    assert.are.equal(96, s.width)
    assert.are.equal(64, s.height)
    assert.are.equal('25/1', s.r_frame_rate)
    assert.are.equal(2, h.ffprobe_frames(out))
  end)

  it('closes twice harmlessly and refuses pushes after close', function()
    local wr = vs.write(dir .. '/twice.mp4')
    wr:push(vs.frame(64, 48))
    assert.are.equal(1, wr:close())
    assert.are.equal(1, wr:close())
    assert.has_error(function() wr:push(vs.frame(64, 48)) end,
      'vstudio: write: ' .. dir .. '/twice.mp4: push after close')
  end)

  it('leaves no output when dropped without close (GC) or aborted', function()
    local out = dir .. '/gc.mp4'
    do
      local wr = vs.write(out)
      wr:push(vs.frame(64, 48))
      assert.are.equal(1, #h.temporaries(dir))
    end
    collectgarbage()
    collectgarbage()
    assert.is_false(h.exists(out))
    assert.are.same({}, h.temporaries(dir))

    local wr = vs.write(dir .. '/ab.mp4')
    wr:push(vs.frame(64, 48))
    wr:abort()
    assert.is_false(h.exists(dir .. '/ab.mp4'))
    assert.are.same({}, h.temporaries_of(dir .. '/ab.mp4'))
    assert.are.equal(1, wr:close()) -- closing an aborted writer is harmless too
  end)

  it('leaves no file when the process exits without close', function()
    local out = dir .. '/exit.mp4'
    local _, err, rc = h.sh(luajit("local w=vs.write('" .. out .. "') w:push(vs.frame(64,48)) os.exit(0, true)"))
    assert.are.equal(0, rc, err)
    assert.is_false(h.exists(out))
    assert.are.same({}, h.temporaries_of(out))
    -- without closing the Lua state (no GC): the library's exit hook
    _, err, rc = h.sh(luajit("local w=vs.write('" .. out .. "') w:push(vs.frame(64,48)) os.exit(3)"))
    assert.are.equal(3, rc, err)
    assert.is_false(h.exists(out))
    assert.are.same({}, h.temporaries_of(out))
  end)

  it('names the path and the frame whose size differs, and leaves no file', function()
    local out = dir .. '/mis.mp4'
    local wr = vs.write(out)
    wr:push(vs.frame(64, 48))
    wr:push(vs.frame(64, 48))
    assert.has_error(function() wr:push(vs.frame(32, 32)) end,
      'vstudio: write: ' .. out .. ': frame 2: frame is 32x32 but the video is 64x48 ' ..
      '(every frame must have the size of the first)')
    assert.is_false(h.exists(out))
    assert.are.same({}, h.temporaries_of(out))
    local ok, err = pcall(wr.push, wr, vs.frame(64, 48)) -- the writer is finished and says why
    assert.is_false(ok)
    assert.truthy(err:find('mis.mp4: nothing written, an earlier push failed: ' .. out .. ': frame 2: frame is 32x32', 1, true), err)
    assert.has_error(function() wr:close() end)
  end)

  it('reports errors at the caller with the path', function()
    local ok, err = pcall(function() vs.write(dir .. '/x.mp4', { crf = 99 }) end)
    assert.is_false(ok)
    assert.truthy(err:find('write_spec.lua:%d+: vstudio: write: ' .. dir:gsub('%p', '%%%0') .. '/x.mp4: crf'))
    assert.has_error(function() vs.write(dir .. '/x.mp4', { colour = 1 }) end,
      "vstudio: write: " .. dir .. "/x.mp4: unknown option 'colour'")
    assert.has_error(function() vs.write(dir .. '/x.mp4', { fps = 'fast' }) end)
    assert.has_error(function() vs.write(dir .. '/x.mp4', { bitrate = 'lots' }) end)
    assert.has_error(function() vs.write(dir .. '/x.mp4', { title = 5 }) end)
    assert.has_error(function() vs.write('') end, 'vstudio: write: path must be a non-empty string')
    assert.has_error(function() vs.write(dir .. '/x.mp4'):push('nope') end,
      'vstudio: write: ' .. dir .. '/x.mp4: frame 0: push expects a frame, got string')
    assert.has_error(function() vs.write(dir .. '/none.mp4'):close() end,
      'vstudio: write: ' .. dir .. '/none.mp4: no frames were pushed; nothing written')
  end)

  it('fails cleanly on a bad codec, pixel format, preset or place', function()
    local function fails(path, opts, pattern)
      local wr = vs.write(path, opts)
      local ok, err = pcall(wr.push, wr, vs.frame(64, 48))
      assert.is_false(ok)
      assert.truthy(err:find(pattern, 1, true), err)
      assert.is_false(h.exists(path))
      assert.are.same({}, h.temporaries_of(path))
      assert.has_error(function() wr:close() end,
        'vstudio: write: ' .. path .. ': nothing written, an earlier push failed: ' .. err:match('vstudio: write: (.*)$'))
    end
    fails(dir .. '/b.mp4', { codec = 'nope' }, "b.mp4: unknown video encoder 'nope'")
    fails(dir .. '/p.mp4', { pix_fmt = 'rgb24' }, 'p.mp4: codec libx264 cannot encode rgb24 (it takes: yuv420p')
    fails(dir .. '/s.mp4', { preset = 'warp' }, "s.mp4: codec libx264 has no preset 'warp'")
    fails(dir .. '/o.mp4', { options = 'nope=1' }, "o.mp4: codec libx264 has no option 'nope'")
    -- libav's log is silenced, but what it said about the failure is kept
    fails(dir .. '/r.mp4', { options = 'profile=bogus' },
      'r.mp4: cannot open encoder libx264 (64x48 yuv420p): Invalid argument (Error setting profile bogus)')
    fails(dir .. '/q.mkv', { codec = 'mpeg4', options = 'qmin=60' }, 'Invalid argument (qmin and or qmax are invalid')
    fails(dir .. '/w.webm', { codec = 'libx264' }, 'w.webm: the webm container cannot hold libx264 video')
    fails(dir .. '/f.xyz', nil, "f.xyz: unknown output format 'xyz'")
    fails(dir .. '/missing/x.mp4', nil, 'missing/x.mp4: cannot create: No such file or directory')
    fails('-', { format = 'mp4' }, '-: mp4 needs a seekable file')
  end)

  it('removes the .part when the disk fills up mid-stream', function()
    for _, ext in ipairs { 'y4m', 'mkv' } do
      local out = dir .. '/full.' .. ext
      -- a 10 KiB file size limit (SIGXFSZ ignored): write() fails with EFBIG
      local _, err, rc = h.sh("ulimit -f 20; trap '' XFSZ; " .. luajit("local w=vs.write('" .. out ..
        "',{crf=0,preset='ultrafast'}) local f=vs.frame(64,48) for i=1,40 do for y=0,47 do local r=f:row(y) " ..
        "for x=0,255 do r[x]=(x*x+y*31+i*17*x)%256 end end w:push(f) end w:close()"))
      assert.are_not.equal(0, rc)
      assert.truthy(err:find('vstudio: write: ' .. out .. ': ', 1, true), err)
      assert.truthy(err:find('File too large', 1, true), err)
      if ext == 'y4m' then assert.truthy(err:find(out .. ': frame 2: write failed', 1, true), err) end
      assert.is_false(h.exists(out))
      assert.are.same({}, h.temporaries_of(out))
    end
  end)

  it('writes y4m to stdout for "-"', function()
    local out, err, rc = h.sh(luajit("local w=vs.write('-') for i=1,4 do w:push(vs.frame(64,48)) end w:close()") ..
      ' | ffprobe -v error -count_frames -show_entries stream=nb_read_frames,width -of csv=p=0 -')
    assert.are.equal(0, rc, err)
    assert.are.equal('64,4', out:match('[^\n]+'))
    out, err, rc = h.sh(luajit("local w=vs.write('-',{format='mkv'}) for i=1,3 do w:push(vs.frame(64,48)) end w:close()") ..
      ' | ffprobe -v error -count_frames -show_entries stream=codec_name,nb_read_frames -of csv=p=0 -')
    assert.are.equal(0, rc, err)
    assert.are.equal('h264,3', out:match('[^\n]+'))
  end)

  it('writes y4m into a FIFO or /dev/null in place (no .part beside a device)', function()
    local fifo = dir .. '/fifo'
    assert.are.equal(0, select(3, h.sh('mkfifo ' .. h.q(fifo))))
    -- the writer in the background, the reader (ffprobe) in front; rc: the writer's
    local out, err, rc = h.sh(luajit("local w=vs.write('" .. fifo .. "') for i=1,3 do w:push(vs.frame(64,48)) end w:close()") ..
      ' & ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 ' .. h.q(fifo) .. '; wait $!')
    assert.are.equal(0, rc, err)
    assert.are.equal(3, tonumber(out:match('%d+')), out .. err)
    assert.are.same({}, h.temporaries_of(fifo))
    local wr = vs.write('/dev/null')
    wr:push(vs.frame(64, 48))
    assert.are.equal(1, wr:close())
    assert.are.same({}, h.temporaries_of('/dev/null'))
  end)

  it('treats names with a colon as files, not libav protocols', function()
    local _, err, rc = h.sh('cd ' .. h.q(dir) .. ' && ' ..
      luajit("for _, p in ipairs{'http:x.mp4', 'file:y.mkv'} do local w=vs.write(p) w:push(vs.frame(64,48)) w:close() end"))
    assert.are.equal(0, rc, err)
    assert.are.equal(1, h.ffprobe_frames(dir .. '/http:x.mp4'))
    assert.are.equal(1, h.ffprobe_frames(dir .. '/file:y.mkv'))
  end)

  it('accepts bitrate with a suffix and every documented option', function()
    local out = dir .. '/all.mkv'
    local wr = vs.write(out, {
      fps = 24, bitrate = '400k', preset = 'ultrafast', codec = 'libx264', pix_fmt = 'yuv444p', gop = 4,
      options = 'bf=0', title = 't', comment = 'c', artist = 'a', format = 'mkv', threads = 1,
    })
    for _ = 1, 5 do wr:push(vs.frame(64, 48)) end
    assert.are.equal(5, wr:close())
    local s = h.ffprobe_stream(out)
    assert.are.equal('yuv444p', s.pix_fmt)
    assert.are.equal(0, s.has_b_frames)
  end)
end)
