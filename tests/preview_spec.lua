-- preview_spec: `vstudio preview` (one frame, contact sheets), sheet() and
-- `vstudio run --watch`, checked against clip:frame_at / clip:frame pixels.
local h = require 'helper'
local vs = require 'vstudio'
local repl = require 'vstudio.repl'

local function sleep(s) os.execute('sleep ' .. s) end

local ANIM = [[
local vs = require 'vstudio'
local w = tonumber(arg[1] or 64)
return vs.clip{size = {w, 48}, fps = 10, duration = 2, draw = function(f, t)
  local k = math.floor(t * 10 + 0.5)
  f:fill(k * 12, 255 - k * 12, (k * 40) % 256)
  f:rect{x = k * 3, y = 10, w = 8, h = 8, color = {255, 255, 255}}
end}
]]

-- The same clip built here, as the oracle.
local function anim(w)
  local chunk = assert(loadstring(ANIM))
  _G.arg = { [1] = w and tostring(w) or nil }
  local c = chunk()
  _G.arg = nil
  return c
end

-- Whether frame a's region (x, y, w, h) equals frame b's pixels.
local function region_equals(a, x, y, b)
  local ffi = require 'ffi'
  for row = 0, b.height - 1 do
    if ffi.string(a.data + (y + row) * a.stride + x * 4, b.width * 4) ~=
       ffi.string(b.data + row * b.stride, b.width * 4) then
      return false
    end
  end
  return true
end

describe('vstudio preview', function()
  local dir
  before_each(function()
    dir = h.tmpdir()
    h.write_file(dir .. '/anim.lua', ANIM)
  end)
  after_each(h.cleanup)

  local function preview(args)
    return h.sh('cd ' .. h.q(dir) .. ' && ' .. h.q(h.bin) .. ' preview ' .. args)
  end

  it('writes the frame at --at T with the pixels of clip:frame_at(T)', function()
    local _, err, rc = preview('anim.lua --at 1.25 -o one.png')
    assert.are.equal(0, rc, err)
    assert.truthy(err:find('one.png: 64x48', 1, true))
    local got = vs.load(dir .. '/one.png')
    local want = anim():frame_at(1.25)
    assert.are.equal(64, got.width)
    assert.are.equal(48, got.height)
    assert.are.equal(h.frame_bytes(want), h.frame_bytes(got))
    _, err, rc = preview('anim.lua --at 0:01.25 -o two.png')
    assert.are.equal(0, rc, err)
    assert.are.equal(h.frame_bytes(want), h.frame_bytes(vs.load(dir .. '/two.png')))
  end)

  it('defaults to the first frame and NAME.preview.png; passes arguments after --', function()
    local _, err, rc = preview('anim.lua -- 80')
    assert.are.equal(0, rc, err)
    local got = vs.load(dir .. '/anim.preview.png')
    assert.are.equal(80, got.width)
    assert.are.equal(h.frame_bytes(anim(80):frame_at(0)), h.frame_bytes(got))
  end)

  it('previews a script that hands its clip to vs.render, without rendering it', function()
    h.write_file(dir .. '/self.lua', (ANIM:gsub('return vs.clip', 'vs.render(vs.clip', 1)
      :gsub('end}\n$', "end}, { out = 'full.mp4' })\n")))
    local _, err, rc = preview('self.lua --at 1 -o self.png')
    assert.are.equal(0, rc, err)
    assert.are.equal(h.frame_bytes(anim():frame_at(1)), h.frame_bytes(vs.load(dir .. '/self.png')))
    assert.is_false(h.exists(dir .. '/full.mp4'))
  end)

  it('--width scales the frame, keeping the aspect', function()
    local _, err, rc = preview('anim.lua --width 32 -o small.png')
    assert.are.equal(0, rc, err)
    local got = vs.load(dir .. '/small.png')
    assert.are.equal(32, got.width)
    assert.are.equal(24, got.height)
    assert.are.equal(h.frame_bytes(anim():frame_at(0):scaled(32, 24)), h.frame_bytes(got))
  end)

  it('--sheet N lays out N evenly spaced frames whose tiles match clip:frame', function()
    local _, err, rc = preview('anim.lua --sheet 6 -o sheet.png')
    assert.are.equal(0, rc, err)
    local got = vs.load(dir .. '/sheet.png')
    local clip = anim()
    local tiles = repl.sheet_layout(clip, 6)
    assert.are.equal(6, #tiles)
    -- 3 columns x 2 rows of 64x48 tiles, 4 px gaps, a label strip under each
    assert.are.equal(3 * 64 + 4 * 4, got.width)
    assert.are.same({ 0, 3, 6, 10, 13, 16 }, (function()
      local ks = {}
      for i, tile in ipairs(tiles) do ks[i] = tile.frame end
      return ks
    end)())
    for _, tile in ipairs(tiles) do
      assert.is_true(region_equals(got, tile.x, tile.y, clip:frame_at(clip:time_of(tile.frame))), 'tile ' .. tile.frame)
    end
    -- the timestamp is drawn under each tile: bright pixels in the label strip
    local bright = 0
    local t1 = tiles[1]
    for y = t1.y + t1.h, t1.y + t1.h + 10 do
      for x = t1.x, t1.x + t1.w - 1 do
        local r = got:get(x, y)
        if r > 150 then bright = bright + 1 end
      end
    end
    assert.truthy(bright > 5, 'no label text under the first tile')
  end)

  it('--sheet with --width makes the whole sheet that wide, tiles scaled from clip frames', function()
    local _, err, rc = preview('anim.lua --sheet 4 --width 200 -o s.png')
    assert.are.equal(0, rc, err)
    local got = vs.load(dir .. '/s.png')
    assert.are.equal(200, got.width)
    local clip = anim()
    for _, tile in ipairs(repl.sheet_layout(clip, 4, { width = 200 })) do
      local want = clip:frame(tile.frame):scaled(tile.w, tile.h)
      assert.is_true(region_equals(got, tile.x, tile.y, want), 'tile ' .. tile.frame)
    end
  end)

  it('sheet() in Lua gives the same image as the command', function()
    local _, err, rc = preview('anim.lua --sheet 4 -o s.png')
    assert.are.equal(0, rc, err)
    local s = repl.sheet(anim(), 4)
    assert.are.equal(h.frame_bytes(s), h.frame_bytes(vs.load(dir .. '/s.png')))
  end)

  it('reports bad input with the script name and leaves no output', function()
    local _, err, rc = preview('anim.lua --at 2 -o x.png')
    assert.are.equal(1, rc)
    assert.truthy(err:find('vstudio: preview: anim.lua: --at 2 is outside the clip', 1, true))
    h.write_file(dir .. '/none.lua', 'return 42\n')
    _, err, rc = preview('none.lua -o x.png')
    assert.are.equal(1, rc)
    assert.truthy(err:find('none.lua: the script must return a clip (it returned number)', 1, true))
    h.write_file(dir .. '/syntax.lua', 'return (\n')
    _, err, rc = preview('syntax.lua -o x.png')
    assert.are.equal(1, rc)
    assert.truthy(err:find('syntax.lua:2:', 1, true))
    h.write_file(dir .. '/draw_error.lua', [[
local vs = require 'vstudio'
return vs.clip{size = {8, 8}, duration = 1, draw = function(f, t) error('cannot draw') end}
]])
    _, err, rc = preview('draw_error.lua --sheet 2 -o x.png')
    assert.are.equal(1, rc)
    assert.truthy(err:find('draw_error.lua:2: cannot draw', 1, true))
    _, err, rc = preview('missing.lua -o x.png')
    assert.are.equal(1, rc)
    assert.truthy(err:find('missing.lua', 1, true))
    assert.is_false(h.exists(dir .. '/x.png'))
    assert.are.same({}, h.temporaries_of(dir .. '/x.png'))
  end)

  it('rejects bad options with exit 2', function()
    for _, args in ipairs { 'anim.lua --at -1', 'anim.lua --at soon', 'anim.lua --sheet 0', 'anim.lua --width 0',
                            'anim.lua --bogus', '', 'anim.lua --at 1 --sheet 4', 'anim.lua -o' } do
      local _, err, rc = preview(args)
      assert.are.equal(2, rc, args .. ': ' .. err)
      assert.truthy(err:find('vstudio: preview: ', 1, true), args)
    end
  end)
end)

describe('vstudio run --watch', function()
  local dir
  before_each(function() dir = h.tmpdir() end)
  after_each(h.cleanup)

  local function wait_for(pred, what)
    for _ = 1, 200 do
      local v = pred()
      if v then return v end
      sleep(0.05)
    end
    error('timed out waiting for ' .. what)
  end

  local function log() return h.exists(dir .. '/log') and h.read_file(dir .. '/log') or '' end

  it('re-renders the preview and sheet when the script changes, prints errors, and leaves on Ctrl-C', function()
    local script = dir .. '/anim.lua'
    local function colour_script(r, g, b)
      h.write_file(script, string.format([[
local vs = require 'vstudio'
return vs.color{%d, %d, %d, size = {64, 48}, duration = 1}
]], r, g, b))
    end
    colour_script(200, 10, 10)
    h.sh(string.format('cd %s && (%s run --watch anim.lua > out 2> log < /dev/null & echo $! > pid)', h.q(dir),
                       h.q(h.bin)))
    local pid = h.read_file(dir .. '/pid'):match('%d+')
    local ok, err = pcall(function()
      wait_for(function() return log():find('wrote', 1, true) end, 'the first render')
      local f = vs.load(dir .. '/anim.preview.png')
      assert.are.same({ 200, 10, 10, 255 }, { f:get(0, 0) })
      assert.truthy(h.exists(dir .. '/anim.sheet.png'))
      -- a broken script: the error is printed and the loop goes on
      sleep(0.05)
      h.write_file(script, 'local x = nil\nreturn x.field\n')
      wait_for(function() return log():find('anim.lua:2:', 1, true) end, 'the error')
      colour_script(10, 200, 10)
      wait_for(function()
        local g = vs.load(dir .. '/anim.preview.png')
        return select(2, g:get(0, 0)) == 200
      end, 'the re-render')
    end)
    h.sh('kill -INT ' .. pid)
    wait_for(function() return select(3, h.sh('kill -0 ' .. pid .. ' 2>/dev/null')) ~= 0 end, 'the loop to end')
    assert(ok, err)
    assert.truthy(log():find('stopped', 1, true))
  end)
end)
