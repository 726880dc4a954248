-- vs.render: the render engine from inside a script run by plain luajit,
-- and the rule for top-level code (it runs once per worker; vs.worker tells).
local h = require 'helper'

-- luajit in a subprocess; under ASan (make check) it needs the sanitizer
-- runtime preloaded, which helper.sh drops for other tools.
local LUAJIT = (os.getenv('LD_PRELOAD') and 'LD_PRELOAD=' .. h.q(os.getenv('LD_PRELOAD')) .. ' ' or '') .. 'luajit'
local LUA_PATH = os.getenv('PWD') .. '/lua/?.lua;' .. os.getenv('PWD') .. '/lua/?/init.lua;;'

local function luajit_script(path, args)
  return h.sh('LUA_PATH=' .. h.q(LUA_PATH) .. ' ' .. LUAJIT .. ' ' .. h.q(path) .. ' ' .. (args or ''))
end

local function lines(path)
  if not h.exists(path) then return 0 end
  local n = 0
  for _ in io.lines(path) do n = n + 1 end
  return n
end

-- A script that renders itself with vs.render and logs its top-level runs.
local SELF = [[
local vs = require 'vstudio'
local dir = arg[1]
local function log(name) local f = io.open(dir .. '/' .. name, 'a'); f:write('x\n'); f:close() end
log('every')                       -- runs in the main state and in each worker
if not vs.worker then log('once') end
local clip = vs.clip{ size = {64, 48}, fps = 10, duration = 2,
  draw = function(frame, t) frame:fill(math.floor(t * 100) % 256, 60, 200) end }
vs.render(clip, { out = dir .. '/self.mkv', workers = 2, crf = 0, quiet = true, frames = FRAMES })
if not vs.worker then log('after') end
]]

describe('vs.render', function()
  local dir
  before_each(function() dir = h.tmpdir() end)
  after_each(h.cleanup)

  it('renders from a script run by luajit; top-level code runs once per worker', function()
    local s = dir .. '/self.lua'
    h.write_file(s, (SELF:gsub('FRAMES', 'nil')))
    local _, err, rc = luajit_script(s, h.q(dir))
    assert.are.equal(0, rc, err)
    assert.are.equal(20, h.ffprobe_frames(dir .. '/self.mkv'))
    assert.are.equal(1, lines(dir .. '/once'), 'guarded by vs.worker: once')
    assert.are.equal(1, lines(dir .. '/after'), 'vs.render returns to the script when done')
    assert.are.equal(1 + 2, lines(dir .. '/every'), 'main state + 2 workers')
    -- the same pixels as `vstudio run` of the same script
    local _, err2, rc2 = h.vstudio('run ' .. h.q(s) .. ' -q --crf 0 --workers 3 -o ' ..
      h.q(dir .. '/cli.mkv') .. ' -- ' .. h.q(dir))
    assert.are.equal(0, rc2, err2)
    assert.are.equal(table.concat(h.ffmpeg_rgba_frames(dir .. '/self.mkv', 64, 48)),
      table.concat(h.ffmpeg_rgba_frames(dir .. '/cli.mkv', 64, 48)))
  end)

  it('under vstudio run, the command line decides and the script only hands over its clip', function()
    local s = dir .. '/self.lua'
    h.write_file(s, (SELF:gsub('FRAMES', 'nil')))
    local _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q --workers 2 --frames 0:5 -o ' ..
      h.q(dir .. '/cli.mp4') .. ' -- ' .. h.q(dir))
    assert.are.equal(0, rc, err)
    assert.are.equal(5, h.ffprobe_frames(dir .. '/cli.mp4'))
    assert.is_false(h.exists(dir .. '/self.mkv'))
    assert.are.equal(1, lines(dir .. '/once'), 'one main run, guarded by vs.worker')
    assert.are.equal(1, lines(dir .. '/after'), 'vs.render returned the clip to the main run')
    assert.are.equal(2, lines(dir .. '/every'), 'the main run draws too: 2 loads for 2 workers')
  end)

  it('renders frames = {A, B}', function()
    local s = dir .. '/self.lua'
    h.write_file(s, (SELF:gsub('FRAMES', '{3, 10}')))
    local _, err, rc = luajit_script(s, h.q(dir))
    assert.are.equal(0, rc, err)
    assert.are.equal(7, h.ffprobe_frames(dir .. '/self.mkv'))
  end)

  it('raises a Lua error naming file:line and frame, and leaves no output', function()
    local s = dir .. '/bad.lua'
    h.write_file(s, [[
local vs = require 'vstudio'
local clip = vs.clip{ size = {32, 32}, fps = 10, duration = 2,
  draw = function(frame, t)
    if t > 0.75 then error('no frames past 0.75') end
  end }
local ok, err = pcall(vs.render, clip, { out = arg[1], quiet = true })
if not vs.worker then
  io.stderr:write('CAUGHT ', tostring(err), '\n')
  os.exit(ok and 0 or 3)
end
]])
    local out = dir .. '/bad.mp4'
    local _, err, rc = luajit_script(s, h.q(out))
    assert.are.equal(3, rc, err)
    assert.truthy(err:find('CAUGHT vstudio: render:', 1, true), err)
    assert.truthy(err:find('frame 8', 1, true), err)
    assert.truthy(err:find('bad.lua:4:', 1, true), err)
    assert.is_false(h.exists(out))
    assert.are.same({}, h.temporaries_of(out))
  end)

  it('refuses what is not a clip, and a clip that does not come from a file', function()
    local vs = require 'vstudio'
    assert.has_error(function() vs.render(42) end, 'vstudio: render: expected a clip, got number')
    local _, err, rc = h.sh('LUA_PATH=' .. h.q(LUA_PATH) .. ' ' .. LUAJIT .. ' -e ' .. h.q([[
local vs = require 'vstudio'
vs.render(vs.clip{ size = {16, 16}, fps = 1, duration = 1, draw = function() end }, { out = '/dev/null' })]]))
    assert.are_not.equal(0, rc)
    assert.truthy(err:find('must come from a script file', 1, true), err)
  end)
end)
