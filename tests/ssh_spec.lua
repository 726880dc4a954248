-- ssh_spec.lua: scripts/render-parallel -S against a second "host" on this
-- machine (tests/ssh-host.sh: an sshd on a loopback port with throwaway
-- keys, started and stopped here): segments rendered over ssh into the
-- shared parts folder and joined here decode to exactly the frames of one
-- `vstudio run` (ffmpeg's framemd5); --resume over ssh; one progress line.
local helper = require 'helper'
local q = helper.q

local repo, bin = helper.repo, helper.abs_bin
local HOST = 'vstudio-test-host'

-- Every frame its own colour; frame 40 (segment 3 of 3) fails while FAIL_FLAG
-- exists. Each process appends where it ran (SSH_CONNECTION) to SEEN.
local SCRIPT = [[
local vs = require 'vstudio'
local flag = io.open(FAIL_FLAG)
if flag then flag:close() end
if not vs.worker then
  local f = assert(io.open(SEEN, 'a'))
  f:write((os.getenv('SSH_CONNECTION') or 'local'), '\n')
  f:close()
end
return vs.clip{size = {64, 48}, fps = 30, duration = 1.5, draw = function(frame, t)
  local k = math.floor(t * 30 + 0.5)
  if flag and k == 40 then error('frame ' .. k .. ' fails on purpose') end
  frame:fill((k * 37) % 256, (k * 59) % 256, (k * 83) % 256, 255)
  for x = 0, k do frame:set(x % 64, 24, 255, 255, 255, 255) end
end}
]]

local function lines(path)
  local t = {}
  if not helper.exists(path) then return t end
  for line in helper.read_file(path):gmatch('[^\n]+') do t[#t + 1] = line end
  return t
end

describe('scripts/render-parallel over ssh', function()
  local dir, host, env, skip, script, seen, flag, whole

  setup(function()
    local _, err, rc = helper.sh('sh tests/ssh-host.sh check')
    if rc ~= 0 then skip = err:gsub('%s+$', '') return end
    dir = helper.tmpdir()
    host = dir .. '/host'
    local out
    out, err, rc = helper.sh('sh tests/ssh-host.sh start ' .. q(host))
    if rc ~= 0 then
      helper.sh('sh tests/ssh-host.sh stop ' .. q(host))
      error('the test sshd did not start: ' .. err)
    end
    -- GNU parallel's own variables: the ssh command, and the environment
    -- the remote commands need (the tests' caches, the sanitizer's options)
    env = ('export PARALLEL_SSH=%s PARALLEL=%s VSTUDIO=%s; '):format(q(out:match('PARALLEL_SSH=([^\n]+)')),
      q('--env XDG_CACHE_HOME --env XDG_STATE_HOME --env ASAN_OPTIONS --env UBSAN_OPTIONS'), q(bin))
    script = dir .. '/frames.lua'
    seen = dir .. '/seen.txt'
    flag = dir .. '/fail-now'
    helper.write_file(script, ('FAIL_FLAG = %q\nSEEN = %q\n'):format(flag, seen) .. SCRIPT)
    local ref = dir .. '/whole.mp4'
    _, err, rc = helper.vstudio(('run %s --crf 0 -q -o %s'):format(q(script), q(ref)))
    assert(rc == 0, err)
    whole = helper.framemd5(ref)
    os.remove(seen)
  end)

  teardown(function()
    if host then helper.sh('sh tests/ssh-host.sh stop ' .. q(host)) end
    helper.cleanup()
  end)

  local function render_parallel(args)
    return helper.sh(env .. 'sh scripts/render-parallel ' .. args)
  end

  local function logins()
    local n = 0
    for _, line in ipairs(lines(host .. '/sshd.log')) do
      if line:find('Accepted publickey', 1, true) then n = n + 1 end
    end
    return n
  end

  it('renders every segment on the other host into the shared folder and joins them here', function()
    if skip then return pending(skip) end
    os.remove(seen)
    local before = logins()
    local out = dir .. '/remote.mp4'
    local _, err, rc = render_parallel(('-n 3 -S 2/%s %s -o %s --crf 0'):format(HOST, q(script), q(out)))
    assert.equal(0, rc, err)
    assert.same(whole, helper.framemd5(out))
    -- each segment's vstudio ran in an ssh session
    local where = lines(seen)
    assert.equal(3, #where)
    for _, w in ipairs(where) do assert.truthy(w:match('^127%.0%.0%.1 %d+ 127%.0%.0%.1 %d+$'), w) end
    assert.is_true(logins() - before >= 3)
    -- one line for the whole render, not each segment's summary
    assert.truthy(err:match('^render%-parallel: [^\n]*remote%.mp4: 3 segments rendered in [%d.]+ s, joined in [%d.]+ s\n$'), err)
  end)

  it('shares the work between this machine and the other host', function()
    if skip then return pending(skip) end
    os.remove(seen)
    local out = dir .. '/mixed.mp4'
    local _, err, rc = render_parallel(('-n 4 -S 1/: -S 1/%s %s -o %s --crf 0'):format(HOST, q(script), q(out)))
    assert.equal(0, rc, err)
    assert.same(whole, helper.framemd5(out))
    assert.equal(4, #lines(seen))
  end)

  it('stops when a remote segment fails, and --resume renders only the missing one there', function()
    if skip then return pending(skip) end
    helper.write_file(flag, '')
    local out = dir .. '/resumed.mp4'
    local _, err, rc = render_parallel(('-n 3 -j 1 -S 1/%s %s -o %s --crf 0'):format(HOST, q(script), q(out)))
    assert.equal(1, rc, err)
    assert.truthy(err:find('frame 40 fails on purpose', 1, true), err)
    assert.truthy(err:find('a segment failed', 1, true), err)
    assert.is_false(helper.exists(out))
    assert.is_true(helper.exists(out .. '.parts/part-1.mp4'))
    os.remove(flag)
    os.remove(seen)
    _, err, rc = render_parallel(('--resume -n 3 -j 1 -S 1/%s %s -o %s --crf 0'):format(HOST, q(script), q(out)))
    assert.equal(0, rc, err)
    assert.truthy(err:find('reusing 2 finished part(s)', 1, true), err)
    assert.equal(1, #lines(seen), 'only segment 3 is rendered again')
    assert.truthy(lines(seen)[1]:match('^127%.0%.0%.1 '))
    assert.same(whole, helper.framemd5(out))
  end)

  it('shows one progress line rewritten in place on a terminal', function()
    if skip then return pending(skip) end
    local out = dir .. '/tty.mp4'
    -- script(1) gives the command a terminal
    local cmd = ('sh scripts/render-parallel -n 3 -S 2/%s %s -o %s --crf 0'):format(HOST, q(script), q(out))
    local tty, err, rc = helper.sh(env .. 'script -qec ' .. q(cmd) .. ' /dev/null')
    assert.equal(0, rc, err)
    assert.falsy(tty:find('vstudio: run:', 1, true), tty)
    assert.truthy(tty:find('\r[^\r\n]*tty%.mp4: 0/3 segments rendered'), tty)
    assert.truthy(tty:find('\r[^\r\n]*tty%.mp4: 3/3 segments rendered'), tty)
    -- the progress ends on the summary, the only line
    local _, newlines = tty:gsub('\n', '')
    assert.equal(1, newlines, tty)
    assert.same(whole, helper.framemd5(out))
  end)
end)
