-- Faults: full disks, killed processes, unwritable places, runaway scripts.
-- Nothing may be left at an output path unless it is complete.
local h = require 'helper'

local COUNTER = [[
local vs = require 'vstudio'
return vs.clip{ size = {160, 120}, fps = 30, duration = tonumber(arg[1]) or 2,
  draw = function(frame, t)
    -- noise, so the encoder has something to write
    for y = 0, frame.height - 1 do
      local row = frame:row(y)
      for x = 0, frame.width * 4 - 1 do row[x] = (x * 7919 + y * 104729 + math.floor(t * 30) * 31) % 251 end
    end
  end }
]]

describe('faults', function()
  local dir, script
  before_each(function()
    dir = h.tmpdir()
    script = dir .. '/noise.lua'
    h.write_file(script, COUNTER)
  end)
  after_each(h.cleanup)

  it('reports a full disk (file size limit), exit 1, nothing at the output path', function()
    local out = dir .. '/full.mp4'
    local _, err, rc = h.sh('ulimit -f 64; ' .. h.q(h.bin) .. ' run ' .. h.q(script) ..
      ' -q --crf 0 -o ' .. h.q(out) .. ' -- 4')
    assert.are.equal(1, rc, err)
    assert.truthy(err:lower():find('file too large') or err:lower():find('no space'), err)
    assert.is_false(h.exists(out))
    assert.are.same({}, h.temporaries_of(out))
  end)

  it('after kill -9 only a temporary remains, and a rerun produces a valid file and removes it', function()
    local out = dir .. '/killed.mp4'
    local _, _, rc = h.sh(h.q(h.bin) .. ' run ' .. h.q(script) .. ' -q --workers 1 -o ' .. h.q(out) ..
      ' -- 60 & pid=$!; for i in $(seq 100); do ls -A ' .. h.q(dir) .. ' | grep -q "part$" && break; sleep 0.05; done;' ..
      ' sleep 0.3; kill -9 $pid; wait $pid')
    assert.are.equal(137, rc)
    assert.is_false(h.exists(out))
    local left = h.temporaries(dir)
    assert.are.equal(1, #left)
    assert.truthy(left[1]:match('^%.killed%.mp4%.%d+%.%x+%.part$'), left[1])
    local _, err
    _, err, rc = h.vstudio('run ' .. h.q(script) .. ' -q -o ' .. h.q(out) .. ' -- 1')
    assert.are.equal(0, rc, err)
    assert.are.equal(30, h.ffprobe_frames(out))
    assert.are.same({}, h.temporaries(dir)) -- the rerun's own is gone, and so is the killed run's
  end)

  it('refuses a read-only output directory before drawing anything', function()
    if h.sh('id -u') == '0\n' then
      -- root ignores directory permissions: use a path under a regular file instead
      h.write_file(dir .. '/file', 'x')
      local _, err, rc = h.vstudio('run ' .. h.q(script) .. ' -q -o ' .. h.q(dir .. '/file/out.mp4'))
      assert.are.equal(1, rc)
      assert.truthy(err:find('file/out.mp4', 1, true), err)
      return
    end
    os.execute('mkdir ' .. h.q(dir .. '/ro') .. ' && chmod 555 ' .. h.q(dir .. '/ro'))
    local _, err, rc = h.vstudio('run ' .. h.q(script) .. ' -q -o ' .. h.q(dir .. '/ro/out.mp4'))
    assert.are.equal(1, rc)
    assert.truthy(err:find('ro/out.mp4', 1, true), err)
  end)

  it('stops a script that allocates without bound with a clear error', function()
    if (os.getenv('VSTUDIO_SANITIZE') or '') ~= '' then
      pending('ulimit -v leaves no room for the sanitizer shadow memory')
      return
    end
    local hog = dir .. '/hog.lua'
    h.write_file(hog, [[
local vs = require 'vstudio'
local keep = {}
return vs.clip{ size = {32, 32}, fps = 10, duration = 1,
  draw = function(frame, t) while true do keep[#keep + 1] = string.rep('x', 1e6) .. #keep end end }
]])
    local out = dir .. '/hog.mp4'
    local _, err, rc = h.sh('ulimit -v 3000000; ' .. h.q(h.bin) .. ' run ' .. h.q(hog) .. ' -q --workers 1 -o ' .. h.q(out))
    assert.are.equal(1, rc, err)
    assert.truthy(err:find('memory', 1, true), err)
    assert.is_false(h.exists(out))
    assert.are.same({}, h.temporaries_of(out))
  end)

  it('writes into a device or FIFO in place instead of renaming a .part over it', function()
    local fifo = dir .. '/fifo'
    assert.are.equal(0, select(3, h.sh('mkfifo ' .. h.q(fifo))))
    local _, err, rc = h.sh('cat ' .. h.q(fifo) .. ' > ' .. h.q(dir .. '/got.y4m') .. ' & ' .. h.q(h.bin) ..
      ' run ' .. h.q(script) .. ' -q --format y4m -o ' .. h.q(fifo) .. ' -- 0.2; wait')
    assert.are.equal(0, rc, err)
    assert.are.equal('fifo', (h.sh('stat -c %F ' .. h.q(fifo)):match('fifo')))
    assert.are.equal(6, h.ffprobe_frames(dir .. '/got.y4m'))
    _, err, rc = h.vstudio('run ' .. h.q(script) .. ' -q --format y4m -o /dev/null -- 0.2')
    assert.are.equal(0, rc, err)
    assert.truthy(h.sh('stat -c %F /dev/null'):find('character special', 1, true))
    assert.are.same({}, h.temporaries_of('/dev/null'))
  end)

  it('stops on SIGTERM with exit 143 and no output', function()
    local out = dir .. '/term.mp4'
    local _, err, rc = h.sh(h.q(h.bin) .. ' run ' .. h.q(script) .. ' -q -o ' .. h.q(out) ..
      ' -- 60 & pid=$!; sleep 0.7; kill -TERM $pid; wait $pid')
    assert.are.equal(143, rc, err)
    assert.is_false(h.exists(out))
    assert.are.same({}, h.temporaries_of(out))
  end)

  it('leaves no temporary when a signal comes while top-level code holds a vs.write open', function()
    local s = dir .. '/top.lua'
    h.write_file(s, [[
local vs = require 'vstudio'
if not vs.worker then
  local wr = vs.write(arg[1])
  wr:push(vs.frame(64, 48))
  io.stderr:write('opened\n')
  -- compiled, so no hook can stop it; a libc call in the loop lets
  -- ThreadSanitizer (make tsan) deliver the signal
  local ffi = require 'ffi'
  ffi.cdef 'int usleep(unsigned);'
  while true do ffi.C.usleep(1000) end
end
return vs.clip{ size = {64, 48}, fps = 25, duration = 1, draw = function() end }
]])
    local _, err, rc = h.sh(h.q(h.bin) .. ' run ' .. h.q(s) .. ' -q -o ' .. h.q(dir .. '/o.mp4') .. ' -- ' ..
      h.q(dir .. '/w.mp4') .. ' 2> ' .. h.q(dir .. '/err') .. ' & pid=$!; for i in $(seq 200); do ' ..
      'grep -q opened ' .. h.q(dir .. '/err') .. ' && break; sleep 0.02; done; kill -INT $pid; wait $pid')
    assert.are.equal(130, rc, err)
    assert.are.same({}, h.temporaries(dir))
    assert.is_false(h.exists(dir .. '/w.mp4'))
  end)

  it('stops with 130 on SIGINT while the script waits in os.execute, at the top level or in draw', function()
    for _, where in ipairs { 'top', 'draw' } do
      local s = dir .. '/exec.lua'
      h.write_file(s, [[
local vs = require 'vstudio'
if arg[1] == 'top' and not vs.worker then io.stderr:write('waiting\n') os.execute('sleep 20') end
return vs.clip{ size = {64, 48}, fps = 25, duration = 1, draw = function(frame, t)
  if arg[1] == 'draw' and t == 0 then io.stderr:write('waiting\n') os.execute('sleep 20') end
end }
]])
      local t0 = os.time()
      local _, err, rc = h.sh(h.q(h.bin) .. ' run ' .. h.q(s) .. ' -q -o ' .. h.q(dir .. '/e.mp4') .. ' -- ' ..
        where .. ' 2> ' .. h.q(dir .. '/err') .. ' & pid=$!; for i in $(seq 200); do ' ..
        'grep -q waiting ' .. h.q(dir .. '/err') .. ' && break; sleep 0.02; done; sleep 0.2; kill -INT $pid; ' ..
        'wait $pid')
      assert.are.equal(130, rc, where .. ': ' .. err .. h.read_file(dir .. '/err'))
      assert.truthy(os.time() - t0 < 10, where .. ': the command was not stopped')
      assert.is_false(h.exists(dir .. '/e.mp4'), where)
      assert.are.same({}, h.temporaries(dir), where)
    end
  end)

  it('refuses os.exit() in a script instead of exiting 0 with no output', function()
    local s = dir .. '/exit.lua'
    h.write_file(s, "os.exit(0)\n")
    local _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q -o ' .. h.q(dir .. '/x.mp4'))
    assert.are.equal(1, rc)
    assert.truthy(err:find('exit.lua:1: os.exit()', 1, true), err)
    assert.is_false(h.exists(dir .. '/x.mp4'))
  end)

  it("reports the failing frame's own error, not a worker stopped because of it", function()
    local s = dir .. '/late.lua'
    h.write_file(s, [[
local vs = require 'vstudio'
jit.off() -- interpreted, so the stop hook reaches the slow frame
return vs.clip{ size = {64, 48}, fps = 25, duration = 1, draw = function(frame, t)
  local k = math.floor(t * 25 + 0.5)
  -- after the failing frame: a frame before it is drawn to the end, as it could fail first
  if k == 14 then local t0 = os.clock() while os.clock() - t0 < 3 do end end
  if k == 10 then error('frame ten is broken') end
end }
]])
    local _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q --workers 2 -o ' .. h.q(dir .. '/l.mp4'))
    assert.are.equal(1, rc)
    assert.truthy(err:find('frame 10: ', 1, true) and err:find('frame ten is broken', 1, true), err)
    assert.falsy(err:find('render stopped', 1, true), err)
  end)

  it("reports an earlier frame's draw error before a later frame's picture that cannot be made", function()
    -- a shim: the Nth picture buffer cannot be made writable (out of memory while converting)
    local preload = h.preload_shim(dir, 'bad_picture', [[
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
static atomic_int calls;
int av_frame_make_writable(AVFrame *f)
{
    int (*real)(AVFrame *) = (int (*)(AVFrame *))dlsym(RTLD_NEXT, "av_frame_make_writable");
    if (getenv("FAIL_PICTURE") && atomic_fetch_add(&calls, 1) + 1 == atoi(getenv("FAIL_PICTURE")))
        return AVERROR(ENOMEM);
    return real(f);
}
]], 'libavutil')
    local _, err, rc
    local s = dir .. '/early.lua'
    h.write_file(s, [[
local vs = require 'vstudio'
local ffi = require 'ffi'
pcall(ffi.cdef, 'int usleep(unsigned);')
local bad = tonumber(arg[1])
return vs.clip{ size = {64, 48}, fps = 25, duration = 2, draw = function(frame, t)
  local k = math.floor(t * 25 + 0.5)
  if k == bad then ffi.C.usleep(300000) error('picture ' .. k .. ' is broken') end
end }
]])
    local function run(bad)
      -- the 6th picture is another worker's (the first has at most frames 0 and 1 before frame 2)
      return h.sh('FAIL_PICTURE=6 ' .. preload .. h.q(h.bin) .. ' run ' .. h.q(s) .. ' -q --workers 2 -o ' ..
                  h.q(dir .. '/e.y4m') .. ' -- ' .. bad)
    end
    _, err, rc = run(-1) -- the shim alone: that frame fails
    assert.are.equal(1, rc, err)
    assert.truthy(err:find('vstudio: run: frame %d+: out of memory'), err)
    _, err, rc = run(2)
    assert.are.equal(1, rc, err)
    assert.truthy(err:find('vstudio: run: frame 2: ' .. s .. ':7: picture 2 is broken', 1, true), err)
    assert.falsy(err:find('out of memory', 1, true), err)
    assert.is_false(h.exists(dir .. '/e.y4m'))
    assert.are.same({}, h.temporaries_of(dir .. '/e.y4m'))
  end)

  it('keeps what an abandoned worker can reach alive until it leaves (vs.render from luajit)', function()
    local s = dir .. '/abandon.lua'
    h.write_file(s, [[
local vs = require 'vstudio'
local ffi = require 'ffi'
pcall(ffi.cdef, 'long time(void *);')
local marker, out = arg[1], arg[2]
if vs.worker then
  local f = io.open(marker)
  if f then -- a later worker: stall in compiled code, where no hook reaches
    f:close()
    local stop = ffi.C.time(nil) + 4
    while ffi.C.time(nil) < stop do end
  else
    io.open(marker, 'w'):close()
  end
end
local clip = vs.clip{ size = {64, 48}, fps = 25, duration = 2, draw = function(frame, t)
  if t > 0.3 then error('broken frame') end
end }
if not vs.worker then
  local ok, err = pcall(vs.render, clip, { out = out, workers = 2, quiet = true })
  assert(not ok and err:find('broken frame', 1, true), tostring(err))
  for _ = 1, 3 do collectgarbage() end
  local junk = {}
  for i = 1, 1000 do junk[i] = string.rep('x', 1000) .. i end -- reuse what the GC freed
  os.execute('sleep 5') -- the stalled worker wakes, finds the render stopped and leaves
  io.stderr:write('survived\n')
end
return clip
]])
    local LUAJIT = (os.getenv('LD_PRELOAD') and 'LD_PRELOAD=' .. h.q(os.getenv('LD_PRELOAD')) .. ' ' or '') ..
      'luajit'
    local _, err, rc = h.sh(LUAJIT .. ' ' .. h.q(s) .. ' ' .. h.q(dir .. '/marker') .. ' ' .. h.q(dir .. '/a.mp4'))
    assert.are.equal(0, rc, err)
    assert.truthy(err:find('survived', 1, true), err)
    assert.is_false(h.exists(dir .. '/a.mp4'))
    assert.are.same({}, h.temporaries(dir))
  end)
end)
