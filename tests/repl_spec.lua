-- repl_spec: `vstudio repl` in a real terminal (tmux), with piped stdin,
-- and the Lua side (lua/vstudio/repl.lua): printing, completion, show().
local h = require 'helper'

local has_tmux = select(3, h.sh('command -v tmux >/dev/null')) == 0

local function sleep(s) os.execute('sleep ' .. s) end

-- A terminal of 100x30 running CMD through sh, on its own tmux server.
local Term = {}
Term.__index = Term
local serial = 0
local ffi = require 'ffi'
pcall(ffi.cdef, 'int getpid(void);')
local PID = ffi.C.getpid()

local function term(cmd)
  serial = serial + 1
  local self = setmetatable({}, Term)
  -- the pid keeps test runs side by side (other checkouts) off each other's servers
  self.sock = string.format('vsrepl%d_%d', PID, serial)
  self.tmux = 'tmux -L ' .. self.sock .. ' '
  local _, err, rc = h.sh(self.tmux .. 'new-session -d -s t -x 100 -y 30 ' .. h.q(cmd))
  if rc ~= 0 and select(3, h.sh('test -c /dev/null')) ~= 0 then
    -- tmux's daemon() needs the device; an output renamed over it breaks it
    error('tmux cannot start: /dev/null is not a character device any more (ls -l /dev/null)')
  end
  assert(rc == 0, 'tmux: ' .. err)
  return self
end

function Term:screen(escapes)
  return (h.sh(self.tmux .. 'capture-pane -p -J ' .. (escapes and '-e ' or '') .. '-S -200 -t t'))
end

-- Waits (up to 10 s) until the screen contains `pattern` (plain text).
function Term:wait(pattern, escapes)
  local s
  for _ = 1, 200 do
    s = self:screen(escapes)
    if s:find(pattern, 1, true) then return s end
    sleep(0.05)
  end
  error('timed out waiting for ' .. pattern .. ' on the screen:\n' .. tostring(s), 2)
end

function Term:type(text) h.sh(self.tmux .. 'send-keys -t t -l ' .. h.q(text)) end
function Term:key(k) h.sh(self.tmux .. 'send-keys -t t ' .. k) end
function Term:line(text)
  self:type(text)
  self:key('Enter')
end
function Term:kill() h.sh(self.tmux .. 'kill-server') end

local function wait_file(path)
  for _ = 1, 200 do
    if h.exists(path) then
      local data = h.read_file(path)
      if data ~= '' then return data end
    end
    sleep(0.05)
  end
  error('timed out waiting for ' .. path)
end

local ANIM = [[
local vs = require 'vstudio'
return vs.clip{size = {64, 48}, fps = 10, duration = 2, draw = function(f, t)
  local k = math.floor(t * 10 + 0.5)
  f:fill(k * 12, 255 - k * 12, 40)
end}
]]

describe('vstudio repl in a terminal', function()
  local dir, t
  before_each(function()
    dir = h.tmpdir()
    h.write_file(dir .. '/anim.lua', ANIM)
  end)
  after_each(function()
    if t then t:kill() end
    t = nil
    h.cleanup()
  end)

  local function start(args, env)
    -- the exit status lands in a file; the pane stays so the screen can be read
    local cmd = string.format('cd %s && env XDG_STATE_HOME=%s %s %s repl %s; echo $? > %s/rc; sleep 30',
                              h.q(dir), h.q(dir .. '/state'), env or '', h.q(h.bin), args or '', h.q(dir))
    t = term(cmd)
    t:wait('Ctrl-D leaves')
  end

  it('evaluates expressions, statements, multi-line chunks and errors; Ctrl-D leaves with 0 and keeps history', function()
    if not has_tmux then pending('tmux is not installed') return end
    start()
    t:line('1 + 41')
    t:wait('\n42\n')
    t:line('x = 3')
    t:line('x * 2')
    t:wait('\n6\n')
    t:line('function f(a)')
    t:wait('>> ')
    t:line('return a * 10')
    t:line('end')
    t:line('f(4)')
    t:wait('\n40\n')
    t:line('{1, 2, name = "n", nested = {a = {b = true}}}')
    t:wait('{1, 2, name = "n", nested = {a = {b = true}}}')
    t:line('vs.frame(64, 48)')
    t:wait('frame 64x48')
    t:line('error("boom")')
    t:wait('stdin:1: boom')
    t:wait('stack traceback')
    t:line('2 + 2')
    t:wait('\n4\n')
    t:key('C-d')
    assert.are.equal('0', wait_file(dir .. '/rc'):match('%d+'))
    local hist = h.read_file(dir .. '/state/vstudio/history'):gsub('\\040', ' ')
    assert.truthy(hist:find('1 + 41', 1, true))
    assert.truthy(hist:find('function f(a)', 1, true))
  end)

  it('completes globals and fields with TAB', function()
    if not has_tmux then pending('tmux is not installed') return end
    start()
    t:type('vs.ea')
    t:key('Tab')
    t:wait('> vs.ease')
    t:line('.linear(0.25)')
    t:wait('\n0.25\n')
    t:type('pri')
    t:key('Tab')
    t:line('(7 * 6)')
    t:wait('\n42\n')
  end)

  it('cancels a line and interrupts a running loop with Ctrl-C, and goes on', function()
    if not has_tmux then pending('tmux is not installed') return end
    start()
    t:type('this is not lua')
    t:key('C-c')
    t:line('7 * 6')
    t:wait('\n42\n')
    assert.falsy(t:screen():find('not lua\n.*stdin'))
    -- the chunk says it runs, so the Ctrl-C cannot come while the line is still being read
    t:line('io.write("run" .. "ning\\n") while true do end')
    t:wait('running\n')
    t:key('C-c')
    t:wait('interrupted')
    t:line('1 + 1')
    t:wait('\n2\n')
    t:line('function g()')
    t:wait('>> ')
    t:key('C-c')
    t:line('3 + 3')
    t:wait('\n6\n')
  end)

  it('takes UTF-8 keys whole (the bytes reach Lua as typed)', function()
    if not has_tmux then pending('tmux is not installed') return end
    start(nil, 'LC_ALL=C.UTF-8')
    t:line('print(#"é€", "xé€y")')
    t:wait('xé€y')
    assert.truthy(t:screen():find('\n5%s+xé€y'))
  end)

  it('is what plain `vstudio` starts on a terminal', function()
    if not has_tmux then pending('tmux is not installed') return end
    t = term(string.format('env XDG_STATE_HOME=%s %s; echo $? > %s/rc; sleep 30', h.q(dir .. '/state'), h.q(h.bin),
                           h.q(dir)))
    t:wait('Ctrl-D leaves')
    t:line('vs.version')
    t:wait('\n0.')
    t:key('C-d')
    assert.are.equal('0', wait_file(dir .. '/rc'):match('%d+'))
  end)

  it('runs a script first and binds what it returns to clip', function()
    if not has_tmux then pending('tmux is not installed') return end
    start('anim.lua')
    t:line('clip')
    t:wait('clip 64x48 10fps 2s')
  end)

  it('show() draws a frame with 24-bit colour half blocks', function()
    if not has_tmux then pending('tmux is not installed') return end
    start()
    t:line('show(vs.color{0, 128, 255, size = {64, 48}, duration = 1})')
    local s = t:wait('38;2;0;128;255', true)
    assert.truthy(s:find('48;2;0;128;255', 1, true))
    assert.truthy(t:screen():find('\u{2580}\u{2580}\u{2580}'))
    -- a clip at a time: frame 10 of anim is (120, 135, 40)
    t:line('show(dofile("anim.lua"), 1.0)')
    t:wait('38;2;120;135;40', true)
  end)
end)

describe('vstudio repl with piped stdin', function()
  local dir
  before_each(function()
    dir = h.tmpdir()
    h.write_file(dir .. '/anim.lua', ANIM)
  end)
  after_each(h.cleanup)

  local function repl(input, args, env)
    return h.sh(string.format('cd %s && printf %%s %s | %s %s repl %s', h.q(dir), h.q(input), env or '', h.q(h.bin),
                              args or ''))
  end

  it('evaluates lines without prompts', function()
    local out, err, rc = repl('1 + 41\nx = 3\nprint(x * 2)\nfunction f(a)\n  return a + 1\nend\nf(1)\n')
    assert.are.equal('', err)
    assert.are.equal(0, rc)
    assert.are.equal('42\n6\n2\n', out)
  end)

  it('reports errors on stderr, goes on, and exits 1', function()
    local out, err, rc = repl('error("bad")\nprint("after")\n')
    assert.are.equal(1, rc)
    assert.are.equal('after\n', out)
    assert.truthy(err:find('stdin:1: bad', 1, true))
  end)

  it('an incomplete chunk at the end is a syntax error', function()
    local _, err, rc = repl('function f()\n  return 1\n')
    assert.are.equal(1, rc)
    assert.truthy(err:find("'end' expected", 1, true))
  end)

  it('binds the script result to clip', function()
    local out, _, rc = repl('print(clip.frames, clip.width)\n', 'anim.lua')
    assert.are.equal(0, rc)
    assert.are.equal('20\t64\n', out)
  end)

  it('vs.render renders the clip the script returned, and explains what it cannot render', function()
    local _, err, rc = repl("vs.render(clip, {out = 'whole.mp4', quiet = true})\n", 'anim.lua')
    assert.are.equal(0, rc, err)
    assert.are.equal(20, h.ffprobe_frames(dir .. '/whole.mp4'))
    _, err, rc = repl("vs.render(clip:speed(2), {out = 'fast.mp4', quiet = true})\n", 'anim.lua')
    assert.are.equal(1, rc)
    assert.truthy(err:find('render the clip a script returns', 1, true), err)
    assert.is_false(h.exists(dir .. '/fast.mp4'))
  end)

  it('a failing script is reported, and the exit status is 1', function()
    h.write_file(dir .. '/bad.lua', 'local x = nil\nreturn x.y\n')
    local out, err, rc = repl('print(clip)\n', 'bad.lua')
    assert.are.equal(1, rc)
    assert.are.equal('nil\n', out)
    assert.truthy(err:find('bad.lua:2:', 1, true))
  end)

  it('show() prints a grayscale ramp, no escapes, when output is not a terminal or NO_COLOR is set', function()
    for _, env in ipairs { 'COLUMNS=40 LINES=20', 'NO_COLOR=1 COLUMNS=40 LINES=20' } do
      local out, _, rc = repl('show(vs.color{255, 255, 255, size = {64, 48}, duration = 1})\n', '', env)
      assert.are.equal(0, rc)
      assert.falsy(out:find('\27', 1, true))
      local lines = 0
      for l in out:gmatch('[^\n]+') do
        lines = lines + 1
        assert.are.equal(('@'):rep(40), l)
      end
      assert.are.equal(15, lines) -- 40 wide, 48/64*40/2 rows: cells are twice as tall as wide
    end
  end)

  it('rejects unknown options with exit 2', function()
    local _, err, rc = h.vstudio('repl --bogus')
    assert.are.equal(2, rc)
    assert.truthy(err:find("unknown option '--bogus'", 1, true))
    local out, _, rc2 = h.vstudio('repl --help')
    assert.are.equal(0, rc2)
    assert.truthy(out:find('Usage: vstudio repl', 1, true))
  end)
end)

describe('vstudio.repl (Lua side)', function()
  local vs = require 'vstudio'
  local repl = require 'vstudio.repl'

  it('completes table fields, methods and globals', function()
    rawset(_G, 'vs', vs)
    assert.are.same({ 'vs.ease' }, repl.complete('vs.ea'))
    local c = vs.color { 0, 0, 0, size = { 8, 8 }, duration = 1 }
    rawset(_G, 'myclip', c)
    local m = repl.complete('myclip:fr')
    assert.truthy(#m >= 2)
    for _, s in ipairs(m) do assert.truthy(s:find('^myclip:fr')) end
    assert.truthy(table.concat(m, ' '):find('myclip:frame_at', 1, true))
    assert.are.same({ 'myclip.frames' }, repl.complete('myclip.frames'))
    assert.truthy(table.concat(repl.complete('pri'), ' '):find('print', 1, true))
    assert.are.same({}, repl.complete('nope.x'))
    rawset(_G, 'myclip', nil)
  end)

  it('prints tables readably and bounded', function()
    assert.are.equal('{1, 2, x = "a"}', repl.pretty { 1, 2, x = 'a' })
    local t = { 1 }
    t.self = t
    assert.are.equal('{1, self = <cycle>}', repl.pretty(t))
    local deep = { a = { b = { c = { d = { e = 1 } } } } }
    assert.truthy(repl.pretty(deep):find('{...}', 1, true))
    local big = {}
    for i = 1, 100 do big[i] = i end
    assert.truthy(repl.pretty(big):find('... (60 more)', 1, true))
    assert.are.equal('frame 4x2', repl.pretty(vs.frame(4, 2)))
  end)

  it('show() rejects what is not a clip or a frame', function()
    assert.has_error(function() repl.show(42) end, 'vstudio: show: expected a clip or a frame, got number')
  end)
end)
