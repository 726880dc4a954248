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
    assert.is_false(h.exists(out .. '.part'))
  end)

  it('after kill -9 only a .part remains, and a rerun produces a valid file', function()
    local out = dir .. '/killed.mp4'
    local _, _, rc = h.sh(h.q(h.bin) .. ' run ' .. h.q(script) .. ' -q --workers 1 -o ' .. h.q(out) ..
      ' -- 60 & pid=$!; for i in $(seq 100); do [ -e ' .. h.q(out .. '.part') .. ' ] && break; sleep 0.05; done;' ..
      ' sleep 0.3; kill -9 $pid; wait $pid')
    assert.are.equal(137, rc)
    assert.is_false(h.exists(out))
    assert.is_true(h.exists(out .. '.part'))
    local _, err
    _, err, rc = h.vstudio('run ' .. h.q(script) .. ' -q -o ' .. h.q(out) .. ' -- 1')
    assert.are.equal(0, rc, err)
    assert.are.equal(30, h.ffprobe_frames(out))
    assert.is_false(h.exists(out .. '.part'))
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
    assert.is_false(h.exists(out .. '.part'))
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
    assert.is_false(h.exists('/dev/null.part'))
  end)

  it('stops on SIGTERM with exit 143 and no output', function()
    local out = dir .. '/term.mp4'
    local _, err, rc = h.sh(h.q(h.bin) .. ' run ' .. h.q(script) .. ' -q -o ' .. h.q(out) ..
      ' -- 60 & pid=$!; sleep 0.7; kill -TERM $pid; wait $pid')
    assert.are.equal(143, rc, err)
    assert.is_false(h.exists(out))
    assert.is_false(h.exists(out .. '.part'))
  end)
end)
