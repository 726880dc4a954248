-- Outputs never lie: private temporaries, image sequences named by clip
-- frame, nothing left behind on any failure, stdout kept for the stream.
local h = require 'helper'

-- luajit in a subprocess; under ASan (make check) it needs the sanitizer
-- runtime preloaded, which helper.sh drops for other tools.
local LUAJIT = (os.getenv('LD_PRELOAD') and 'LD_PRELOAD=' .. h.q(os.getenv('LD_PRELOAD')) .. ' ' or '') .. 'luajit'

-- A clip whose every frame is one colour: arg[1] = 'red' or 'blue', arg[2]
-- seconds (25 fps), arg[3] = a frame whose draw fails (optional).
local SOLID = [[
local vs = require 'vstudio'
local colour = arg[1] == 'blue' and {0, 0, 255} or {255, 0, 0}
local fail_at = tonumber(arg[3])
return vs.clip{ size = {64, 48}, fps = 25, duration = tonumber(arg[2]) or 1,
  draw = function(frame, t)
    if fail_at and math.floor(t * 25 + 0.5) == fail_at then error('bad frame') end
    frame:fill(colour[1], colour[2], colour[3])
  end }
]]

-- The mean red and blue of every decoded frame of a video.
local function colours(path)
  local out = h.sh('ffmpeg -v error -i ' .. h.q(path) .. ' -f rawvideo -pix_fmt rgb24 -')
  local size = 64 * 48 * 3
  local frames = {}
  for i = 1, #out - size + 1, size do
    local r, b = 0, 0
    for p = i, i + size - 1, 3 * 97 do
      r, b = r + out:byte(p), b + out:byte(p + 2)
    end
    frames[#frames + 1] = r > b and 'red' or 'blue'
  end
  return frames
end

local ls = h.ls

describe('outputs', function()
  local dir, script
  before_each(function()
    dir = h.tmpdir()
    script = dir .. '/solid.lua'
    h.write_file(script, SOLID)
  end)
  after_each(h.cleanup)

  local function run(args)
    return h.vstudio('run ' .. h.q(script) .. ' -q ' .. args)
  end

  describe('temporaries', function()
    it('never follow a symlink planted at OUT.part or .OUT.part, for every kind of writer', function()
      h.write_file(dir .. '/victim.txt', 'victim')
      for _, name in ipairs { 'a.mp4', 'a.y4m', 'a.mkv' } do
        for _, planted in ipairs { name .. '.part', '.' .. name .. '.part' } do
          os.execute('ln -s victim.txt ' .. h.q(dir .. '/' .. planted))
        end
        local _, err, rc = run('-o ' .. h.q(dir .. '/' .. name))
        assert.are.equal(0, rc, err)
        assert.are.equal(25, h.ffprobe_frames(dir .. '/' .. name), name)
        assert.are.equal('victim', h.read_file(dir .. '/victim.txt'), name)
      end
      -- frame:save and save_npy's files go through the same path
      os.execute('ln -s victim.txt ' .. h.q(dir .. '/s.png.part'))
      local _, err, rc = h.sh(LUAJIT .. ' -e ' .. h.q("local vs = require 'vstudio' vs.frame(8, 8):save('" .. dir .. "/s.png')"))
      assert.are.equal(0, rc, err)
      assert.are.equal('\137PNG', h.read_file(dir .. '/s.png'):sub(1, 4))
      local vs = require 'vstudio'
      os.execute('mkdir ' .. h.q(dir .. '/imgs') .. ' ' .. h.q(dir .. '/npy'))
      for i = 1, 3 do vs.frame(8, 8):fill(i * 50, 0, 0):save(dir .. '/imgs/' .. i .. '.png') end
      for _, planted in ipairs { 'index.csv.part', 'batch_000000.npy.part' } do
        os.execute('ln -s ../victim.txt ' .. h.q(dir .. '/npy/' .. planted))
      end
      assert.are.equal(1, vs.dataset{ paths = { dir .. '/imgs' }, batch = 4 }:save_npy(dir .. '/npy'))
      assert.are.equal('\147NUMPY', h.read_file(dir .. '/npy/batch_000000.npy'):sub(1, 6))
      assert.truthy(h.read_file(dir .. '/npy/index.csv'):find('batch_000000.npy,2,', 1, true))
      -- concat's output
      for k = 1, 2 do
        assert.are.equal(0, select(3, run('--segment ' .. k .. '/2 -o ' .. h.q(dir .. '/p' .. k .. '.mp4'))))
      end
      os.execute('ln -s victim.txt ' .. h.q(dir .. '/j.mp4.part'))
      _, err, rc = h.vstudio('concat ' .. h.q(dir .. '/p1.mp4') .. ' ' .. h.q(dir .. '/p2.mp4') .. ' -o ' ..
        h.q(dir .. '/j.mp4'))
      assert.are.equal(0, rc, err)
      assert.are.equal(25, h.ffprobe_frames(dir .. '/j.mp4'))
      assert.are.equal('victim', h.read_file(dir .. '/victim.txt'))
    end)

    it('are hidden, unique and gone after success; libav writes through our descriptor (faststart still works)',
      function()
        local out = dir .. '/fast.mp4'
        local _, err, rc = h.sh(h.q(h.bin) .. ' run ' .. h.q(script) .. ' -q -o ' .. h.q(out) ..
          ' -- red 40 & pid=$!; for i in $(seq 200); do ls -A ' .. h.q(dir) ..
          ' | grep -q "part$" && break; sleep 0.01; done; ls -A ' .. h.q(dir) .. ' > ' .. h.q(dir .. '/seen') ..
          '; wait $pid')
        assert.are.equal(0, rc, err)
        assert.truthy(h.read_file(dir .. '/seen'):match('%.fast%.mp4%.%d+%.%x+%.part'), h.read_file(dir .. '/seen'))
        assert.are.same({}, h.temporaries(dir))
        local data = h.read_file(out)
        assert.truthy(data:find('moov', 1, true) < data:find('mdat', 1, true), 'moov before mdat')
        assert.are.equal(1000, h.ffprobe_frames(out))
      end)

    it('let two runs of the same output both finish, leaving one whole render, never a mix', function()
      for _, ext in ipairs { 'mp4', 'y4m' } do
        local out = dir .. '/same.' .. ext
        local cmd = h.q(h.bin) .. ' run ' .. h.q(script) .. ' -q --workers 1 -o ' .. h.q(out)
        local _, err = h.sh(cmd .. ' -- red 6 & a=$!; ' .. cmd .. ' -- blue 6 & b=$!; ' ..
          'wait $a; echo "a=$?" >&2; wait $b; echo "b=$?" >&2')
        assert.truthy(err:find('a=0', 1, true) and err:find('b=0', 1, true), err)
        local frames = colours(out)
        assert.are.equal(150, #frames, ext)
        for i = 2, #frames do assert.are.equal(frames[1], frames[i], ext .. ' frame ' .. i) end
        assert.are.same({}, h.temporaries(dir))
      end
    end)

    it('are removed after a failure and after Ctrl-C', function()
      local _, err, rc = run('-o ' .. h.q(dir .. '/f.mp4') .. ' -- red 2 30')
      assert.are.equal(1, rc)
      assert.truthy(err:find('bad frame', 1, true), err)
      _, err, rc = h.sh(h.q(h.bin) .. ' run ' .. h.q(script) .. ' -q --workers 1 -o ' .. h.q(dir .. '/c.mp4') ..
        ' -o ' .. h.q(dir .. '/seq') .. ' -- red 600 & pid=$!; sleep 1; kill -INT $pid; wait $pid')
      assert.are.equal(130, rc, err)
      assert.are.same({ 'solid.lua' }, ls(dir))
    end)
  end)

  describe('image sequences', function()
    it('are named by clip frame, so segments share a folder', function()
      local seq = dir .. '/seq'
      local _, err, rc = run('-o ' .. h.q(seq) .. ' --frames 20:25 -- red 2')
      assert.are.equal(0, rc, err)
      assert.are.same({ '000020.png', '000021.png', '000022.png', '000023.png', '000024.png' }, ls(seq))
      _, err, rc = run('-o ' .. h.q(seq) .. ' --frames 25:27 -- red 2')
      assert.are.equal(0, rc, err)
      assert.are.equal(7, #ls(seq))
    end)

    it('refuse a folder holding another render\'s frames, and --force cleans it first', function()
      local seq = dir .. '/seq'
      assert.are.equal(0, select(3, run('-o ' .. h.q(seq) .. ' -- red 0.2')))
      local _, err, rc = run('-o ' .. h.q(seq) .. ' -- blue 0.12')
      assert.are.equal(1, rc)
      assert.truthy(err:find('another render', 1, true) and err:find('--force', 1, true), err)
      assert.are.equal(5, #ls(seq))
      _, err, rc = run('-o ' .. h.q(seq) .. ' --force -- blue 0.12')
      assert.are.equal(0, rc, err)
      assert.are.same({ '000000.png', '000001.png', '000002.png' }, ls(seq))
      -- a name taken in the middle of the range fails the render, which removes what it wrote
      h.write_file(seq .. '/000010.png', 'not ours')
      _, err, rc = run('-o ' .. h.q(seq) .. ' --frames 5:20 -- blue')
      assert.are.equal(1, rc)
      assert.truthy(err:find('000010.png exists already', 1, true), err)
      assert.are.same({ '000000.png', '000001.png', '000002.png', '000010.png' }, ls(seq))
    end)

    it('leave nothing behind on a draw error, a full disk, or vs.write then abort', function()
      local seq = dir .. '/seq'
      local _, err, rc = run('-o ' .. h.q(seq) .. ' --workers 1 -- red 4 60')
      assert.are.equal(1, rc)
      assert.truthy(err:find('no output', 1, true) or err:find('bad frame', 1, true), err)
      assert.are.same({}, ls(seq))
      _, err, rc = h.sh('ulimit -f 8; ' .. h.q(h.bin) .. ' run ' .. h.q(script) .. ' -q -o ' .. h.q(seq) ..
        ' --format jpg -o ' .. h.q(dir .. '/big.y4m') .. ' -- red 4')
      assert.are.equal(1, rc, err)
      assert.are.same({}, ls(seq))
      local w = dir .. '/w.lua'
      h.write_file(w, "local vs = require 'vstudio'\n" ..
        "local wr = vs.write('" .. seq .. "/')\n" ..
        "for i = 1, 5 do wr:push(vs.frame(16, 16)) end\n" ..
        "wr:abort()\n")
      _, err, rc = h.sh(LUAJIT .. ' ' .. h.q(w))
      assert.are.equal(0, rc, err)
      assert.are.same({}, ls(seq))
    end)
  end)

  describe('the default output', function()
    it('says where it writes and is not replaced without --force', function()
      local _, err, rc = h.vstudio('run ' .. h.q(script))
      assert.are.equal(0, rc, err)
      assert.truthy(err:find('writing ' .. dir .. '/solid.mp4', 1, true), err)
      h.write_file(dir .. '/solid.mp4', 'precious')
      _, err, rc = h.vstudio('run ' .. h.q(script) .. ' -q')
      assert.are.equal(1, rc)
      assert.truthy(err:find('exists', 1, true) and err:find('--force', 1, true), err)
      assert.are.equal('precious', h.read_file(dir .. '/solid.mp4'))
      _, err, rc = h.vstudio('run ' .. h.q(script) .. ' -q --force')
      assert.are.equal(0, rc, err)
      assert.are.equal(25, h.ffprobe_frames(dir .. '/solid.mp4'))
    end)

    it('is not made for a script that returns no clip: it just runs', function()
      local job = dir .. '/job.lua'
      h.write_file(job, "io.stderr:write('job ran\\n')\n")
      local _, err, rc = h.vstudio('run ' .. h.q(job))
      assert.are.equal(0, rc, err)
      assert.truthy(err:find('job ran', 1, true), err)
      assert.is_false(h.exists(dir .. '/job.mp4'))
      _, err, rc = h.vstudio('run ' .. h.q(job) .. ' -o ' .. h.q(dir .. '/j.mp4'))
      assert.are.equal(1, rc)
      assert.truthy(err:find('returned no clip', 1, true), err)
    end)
  end)

  describe('stdout', function()
    it('keeps print, io.write and os.execute off a stream on -o -', function()
      local s = dir .. '/loud.lua'
      h.write_file(s, "local vs = require 'vstudio'\n" ..
        "if not vs.worker then print('top level', 1) io.write('written\\n') os.execute('echo child') end\n" ..
        "return vs.clip{ size = {64, 48}, fps = 25, duration = 1,\n" ..
        "  draw = function(frame, t) if t == 0 then print('in draw') io.stdout:write('raw') end end }\n")
      local _, err, rc = h.sh(h.q(h.bin) .. ' run ' .. h.q(s) .. ' -q -o - > ' .. h.q(dir .. '/o.y4m'))
      assert.are.equal(0, rc, err)
      assert.truthy(err:find('top level\t1', 1, true) and err:find('in draw', 1, true) and
                    err:find('child', 1, true) and err:find('written', 1, true), err)
      assert.are.equal('YUV4MPEG2', h.read_file(dir .. '/o.y4m'):sub(1, 9))
      assert.are.equal(25, h.ffprobe_frames(dir .. '/o.y4m'))
    end)

    it('names the stdout output when its reader goes away, leaving no other output behind', function()
      local _, err = h.sh('{ ' .. h.q(h.bin) .. ' run ' .. h.q(script) .. ' -q -o ' .. h.q(dir .. '/a.mp4') ..
        ' -o ' .. h.q(dir .. '/seq/') .. ' -o - -- red 40; echo "rc=$?" >&2; } | head -c 1000 > /dev/null')
      assert.truthy(err:find('rc=1', 1, true), err)
      assert.truthy(err:find('vstudio: run: -: ', 1, true) and err:lower():find('broken pipe', 1, true), err)
      assert.are.same({ 'solid.lua' }, ls(dir)) -- the folder it made is gone too
    end)
  end)

  it('names the size an encoder refuses', function()
    local s = dir .. '/wide.lua'
    h.write_file(s, "local vs = require 'vstudio'\n" ..
      "return vs.clip{ size = {20000, 64}, fps = 25, duration = 0.08, draw = function() end }\n")
    local _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q -o ' .. h.q(dir .. '/w.mp4'))
    assert.are.equal(1, rc)
    assert.truthy(err:find('20000x64', 1, true), err)
    -- beyond what libavcodec addresses (it used to report the size as 0x0)
    local ffi = require 'ffi'
    local C = require('vstudio.core').C
    assert.is_true(C.vs_encoder_open(dir .. '/huge.mp4', 30000, 30000, nil) == nil)
    err = ffi.string(C.vs_last_error())
    assert.truthy(err:find('30000x30000 frames are too large', 1, true), err)
    assert.falsy(err:find('0x0', 1, true), err)
    assert.are.same({}, h.temporaries(dir))
  end)

  it('does not advise a faster --preset for an output that has none', function()
    local s = dir .. '/hd.lua'
    h.write_file(s, "local vs = require 'vstudio'\n" ..
      "return vs.clip{ size = {1280, 720}, fps = 25, duration = 1, draw = function() end }\n")
    -- a reader that waits makes the y4m writer the bottleneck
    local _, err = h.sh(h.q(h.bin) .. ' run ' .. h.q(s) .. ' --progress -o - | { sleep 1; cat > /dev/null; }')
    assert.truthy(err:find('bottleneck: the encoder', 1, true), err)
    assert.falsy(err:find('preset', 1, true), err)
  end)

  it('--format with an unknown name is a usage error', function()
    local _, err, rc = run('-o ' .. h.q(dir .. '/x.mp4') .. ' --format bogus')
    assert.are.equal(2, rc)
    assert.truthy(err:find("unknown format 'bogus'", 1, true), err)
  end)
end)
