-- vstudio run: the render engine through the command line.
local h = require 'helper'

local function script(dir, name, body)
  local path = dir .. '/' .. name
  h.write_file(path, body)
  return path
end

-- A clip whose frame k is a flat colour encoding k: r = 10*k % 256.
local COUNTER = [[
local vs = require 'vstudio'
return vs.clip{ size = {64, 48}, fps = 10, duration = 3,
  draw = function(frame, t)
    local k = math.floor(t * 10 + 0.5)
    frame:fill((k * 10) % 256, 128, 255 - (k * 10) % 256)
  end }
]]

describe('vstudio run', function()
  local dir
  before_each(function() dir = h.tmpdir() end)
  after_each(h.cleanup)

  it('renders the returned clip to an MP4 named after the script', function()
    local s = script(dir, 'count.lua', COUNTER)
    local _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q')
    assert.are.equal(0, rc, err)
    assert.are.equal(30, h.ffprobe_frames(dir .. '/count.mp4'))
    assert.are.equal(64, h.ffprobe_stream(dir .. '/count.mp4').width)
  end)

  it('prints a summary with the settings used and the bottleneck', function()
    local s = script(dir, 'count.lua', COUNTER)
    local _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -o ' .. h.q(dir .. '/o.mp4'))
    assert.are.equal(0, rc, err)
    assert.truthy(err:find('30 frames in', 1, true))
    assert.truthy(err:find('--workers %d'))
    assert.truthy(err:find('bottleneck') or err:find('balanced'))
  end)

  it('gives the same pixels whatever the number of workers', function()
    local s = script(dir, 'count.lua', COUNTER)
    local outs = {}
    for _, w in ipairs { 1, 2, 3 } do
      local out = dir .. '/w' .. w .. '.mkv'
      local _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q --crf 0 --workers ' .. w .. ' -o ' .. h.q(out))
      assert.are.equal(0, rc, err)
      outs[w] = table.concat(h.ffmpeg_rgba_frames(out, 64, 48))
    end
    assert.are.equal(30 * 64 * 48 * 4, #outs[1])
    assert.is_true(outs[1] == outs[2] and outs[2] == outs[3])
  end)

  it('gives the same pixels whatever the number of workers for clips reading a video', function()
    -- the workers share one decoder per video: frames must still be exact
    local src = dir .. '/src.mp4'
    local _, err, rc = h.sh('ffmpeg -v error -f lavfi -i testsrc2=s=64x48:r=10 -frames:v 40 -c:v libx264 -g 8 ' ..
      '-bf 2 -pix_fmt yuv420p ' .. h.q(src))
    assert(rc == 0, err)
    local s = script(dir, 'pip.lua', string.format([[
local vs = require 'vstudio'
local v = vs.video(%q)
return vs.overlay{ v:reverse(), v:resize{ 32, 24 }:opacity(0.6):at(8, 8) }
]], src))
    local outs = {}
    for _, w in ipairs { 1, 3 } do
      local out = dir .. '/v' .. w .. '.mkv'
      _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q --codec png --workers ' .. w .. ' -o ' .. h.q(out))
      assert.are.equal(0, rc, err)
      outs[w] = h.ffmpeg_rgba_frames(out, 64, 48)
    end
    assert.are.equal(40, #outs[1])
    assert.is_true(table.concat(outs[1]) == table.concat(outs[3]))
    -- and equal to ffmpeg's decode of the source, reversed, where nothing is overlaid
    local ref = h.ffmpeg_rgba_frames(src, 64, 48)
    local corner = function(f) return f:sub(1, 4) end -- pixel (0, 0) is outside the overlay
    for k = 1, 40 do
      local a, b = { corner(outs[3][k]):byte(1, 3) }, { corner(ref[41 - k]):byte(1, 3) }
      for c = 1, 3 do assert.is_true(math.abs(a[c] - b[c]) <= 3, ('frame %d'):format(k - 1)) end
    end
  end)

  it('renders with --codec png into MOV and MKV, every pixel as drawn', function()
    local s = script(dir, 'count.lua', COUNTER)
    for _, name in ipairs { 'p.mov', 'p.mkv' } do
      local out = dir .. '/' .. name
      local _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q --workers 2 --codec png -o ' .. h.q(out))
      assert.are.equal(0, rc, err)
      assert.are.same({}, h.temporaries_of(out))
      assert.are.equal('png', h.ffprobe_stream(out).codec_name)
      assert.are.equal(30, h.ffprobe_frames(out))
      local frames = h.ffmpeg_rgba_frames(out, 64, 48)
      for _, k in ipairs { 0, 17, 29 } do
        assert.are.same({ (k * 10) % 256, 128, 255 - (k * 10) % 256, 255 }, { frames[k + 1]:byte(1, 4) })
      end
    end
  end)

  it('renders only --frames A:B and --segment K/N', function()
    local s = script(dir, 'count.lua', COUNTER)
    local _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q --frames 5:12 -o ' .. h.q(dir .. '/f.mp4'))
    assert.are.equal(0, rc, err)
    assert.are.equal(7, h.ffprobe_frames(dir .. '/f.mp4'))
    _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q --crf 0 --segment 2/3 -o ' .. h.q(dir .. '/s.mkv'))
    assert.are.equal(0, rc, err)
    local frames = h.ffmpeg_rgba_frames(dir .. '/s.mkv', 64, 48)
    assert.are.equal(10, #frames)
    assert.is_true(math.abs(frames[1]:byte(1) - 100) <= 2, 'segment 2/3 starts at frame 10')
  end)

  it('streams y4m to stdout with -o -', function()
    local s = script(dir, 'count.lua', COUNTER)
    local out, err, rc = h.sh(h.q(h.bin) .. ' run ' .. h.q(s) .. ' -q -o - | ffprobe -v error -count_frames ' ..
      '-show_entries stream=nb_read_frames -of csv=p=0 -')
    assert.are.equal(0, rc, err)
    assert.are.equal(30, tonumber(out:match('%d+')))
  end)

  it('writes several outputs from one pass', function()
    local s = script(dir, 'count.lua', COUNTER)
    local _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q --frames 0:4 -o ' .. h.q(dir .. '/a.mp4') ..
      ' -o ' .. h.q(dir .. '/frames') .. ' --format png')
    assert.are.equal(0, rc, err)
    assert.are.equal(4, h.ffprobe_frames(dir .. '/a.mp4'))
    assert.is_true(h.exists(dir .. '/frames/000003.png'))
    assert.is_false(h.exists(dir .. '/frames/000004.png'))
  end)

  it('passes arguments after -- to the script as arg', function()
    local s = script(dir, 'args.lua', [[
local vs = require 'vstudio'
local w, hgt = tonumber(arg[1]), tonumber(arg[2])
return vs.clip{ size = {w, hgt}, fps = 5, duration = 1, draw = function(f, t) end }
]])
    local _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q -o ' .. h.q(dir .. '/a.mp4') .. ' -- 96 32')
    assert.are.equal(0, rc, err)
    local st = h.ffprobe_stream(dir .. '/a.mp4')
    assert.are.equal(96, st.width)
    assert.are.equal(32, st.height)
  end)

  it('stops on an error in draw, naming file:line and frame, leaving no output', function()
    local s = script(dir, 'boom.lua', [[
local vs = require 'vstudio'
local function explode(t) error('boom at ' .. t) end
return vs.clip{ size = {64, 48}, fps = 10, duration = 3,
  draw = function(frame, t)
    if t >= 1.7 then explode(t) end
  end }
]])
    local out = dir .. '/boom.mp4'
    local _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q -o ' .. h.q(out))
    assert.are.equal(1, rc)
    assert.truthy(err:find('frame 17', 1, true), err)
    assert.truthy(err:find('boom.lua:2: boom at 1.7', 1, true), err)
    -- the traceback shows the script's frames only, not vstudio's or C's
    assert.truthy(err:find('traceback:\n\t[^\n]*boom.lua:2: in function', 1), err)
    assert.truthy(err:find('\n\t[^\n]*boom.lua:5: in function', 1), err)
    assert.falsy(err:find('[C]', 1, true), err)
    assert.falsy(err:find('vstudio/clip.lua', 1, true), err)
    assert.falsy(err:find('vstudio engine', 1, true), err)
    assert.is_false(h.exists(out))
    assert.are.same({}, h.temporaries_of(out))
  end)

  it('reports the first failing frame, whatever the order the workers fail in', function()
    -- frame 16 is slow, so frame 20 (another worker's chunk) fails long before frame 17 does
    local s = script(dir, 'late.lua', [[
local vs = require 'vstudio'
local ffi = require 'ffi'
pcall(ffi.cdef, 'int usleep(unsigned);')
return vs.clip{ size = {64, 48}, fps = 10, duration = 3,
  draw = function(frame, t)
    local k = math.floor(t * 10 + 0.5)
    if k == 16 then ffi.C.usleep(500000) end
    if k >= 17 then error('broken at ' .. k) end
  end }
]])
    local out = dir .. '/late.mp4'
    local _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q --workers 2 -o ' .. h.q(out))
    assert.are.equal(1, rc, err)
    assert.truthy(err:find('vstudio: run: frame 17: ' .. s .. ':8: broken at 17', 1, true), err)
    assert.is_false(h.exists(out))
    assert.are.same({}, h.temporaries_of(out))
  end)

  it('fails with a later frame\'s error when an earlier frame is stuck, naming it, within the grace', function()
    -- frame 3 spins in a JIT-compiled loop the hook cannot stop; frame 9 (the other worker's) fails
    local s = script(dir, 'stuck3.lua', [[
local vs = require 'vstudio'
return vs.clip{ size = {64, 48}, fps = 10, duration = 3,
  draw = function(frame, t)
    local k = math.floor(t * 10 + 0.5)
    local x = 0
    if k == 3 then while x >= 0 do x = x + 1 end end
    if k == 9 then error('broken at ' .. k) end
  end }
]])
    local out = dir .. '/stuck3.mp4'
    local t0 = os.time()
    local _, err, rc = h.sh('timeout -s KILL 30 ' .. h.q(h.bin) .. ' run ' .. h.q(s) .. ' -q --workers 2 -o ' ..
                            h.q(out))
    local took = os.time() - t0
    assert.are.equal(1, rc, err)
    assert.is_true(took <= 8, took .. ' s')
    assert.truthy(err:find('vstudio: run: frame 9: ' .. s .. ':7: broken at 9; frame 3 was still drawing after 2 s\n',
                           1, true), err)
    assert.is_false(h.exists(out))
    assert.are.same({}, h.temporaries_of(out))
  end)

  it('reports a syntax error and a script that returns no clip', function()
    local s = script(dir, 'syntax.lua', 'return vs.clip{ size = ')
    local _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q')
    assert.are.equal(1, rc)
    assert.truthy(err:find('syntax.lua:1:', 1, true), err)
    s = script(dir, 'none.lua', 'return 42')
    _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q')
    assert.are.equal(1, rc)
    assert.truthy(err:find('must return a clip', 1, true), err)
    assert.falsy(err:find('traceback', 1, true), err)
    assert.is_false(h.exists(dir .. '/none.mp4'))
  end)

  it('words API errors for people: one vstudio: prefix, the script line, no library frames', function()
    h.write_file(dir .. '/half.mp4', 'not really a video')
    local s = script(dir, 'open.lua', "local vs = require 'vstudio'\nlocal v = vs.video(" ..
      ("%q"):format(dir .. '/half.mp4') .. ')\nreturn v')
    local _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q')
    assert.are.equal(1, rc)
    assert.truthy(err:find('^vstudio: run: [^\n]*open%.lua:2: video: [^\n]*half%.mp4: not a readable video file'), err)
    assert.falsy(err:find('traceback', 1, true), err)
    assert.falsy(err:find('moov atom', 1, true), 'libav says nothing of its own: ' .. err)
    s = script(dir, 'map.lua', [[
local vs = require 'vstudio'
return vs.color{ 1, 2, 3, size = {16, 16}, duration = 1 }:map(function(frame, t)
  return vs.frame(8, 8)
end)
]])
    _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q -o ' .. h.q(dir .. '/map.mp4'))
    assert.are.equal(1, rc)
    assert.truthy(err:find('frame 0: [^\n]*map%.lua:2: map: the function returned a 8x8 frame for a 16x16 clip'), err)
  end)

  it('refuses a missing script and bad options', function()
    local _, err, rc = h.vstudio('run ' .. h.q(dir .. '/nope.lua'))
    assert.are.equal(1, rc)
    assert.truthy(err:find('nope.lua: cannot read the script', 1, true))
    _, err, rc = h.vstudio('run x.lua --workers zero')
    assert.are.equal(2, rc)
    assert.truthy(err:find('--workers', 1, true))
    _, err, rc = h.vstudio('run x.lua --frames 9:3')
    assert.are.equal(2, rc)
    _, err, rc = h.vstudio('run x.lua --bogus')
    assert.are.equal(2, rc)
    assert.truthy(err:find("unknown option '--bogus'", 1, true))
  end)

  it('refuses an output in a missing directory before drawing', function()
    local s = script(dir, 'count.lua', COUNTER)
    local _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q -o ' .. h.q(dir .. '/missing/o.mp4'))
    assert.are.equal(1, rc)
    assert.truthy(err:find('missing/o.mp4', 1, true), err)
  end)

  it('--check catches a script that keeps state between frames', function()
    local pure = script(dir, 'count.lua', COUNTER)
    local _, err, rc = h.vstudio('run ' .. h.q(pure) .. ' --check')
    assert.are.equal(0, rc, err)
    assert.truthy(err:find('check passed', 1, true))
    local impure = script(dir, 'impure.lua', [[
local vs = require 'vstudio'
local calls = 0
return vs.clip{ size = {32, 32}, fps = 10, duration = 3,
  draw = function(frame, t) calls = calls + 1; frame:fill(calls % 256, 0, 0) end }
]])
    _, err, rc = h.vstudio('run ' .. h.q(impure) .. ' --check')
    assert.are.equal(1, rc)
    assert.truthy(err:find('differ', 1, true), err)
  end)

  it('stops on SIGINT with exit 130 and no output, even in an endless draw', function()
    local s = script(dir, 'forever.lua', [[
local vs = require 'vstudio'
return vs.clip{ size = {32, 32}, fps = 10, duration = 100,
  draw = function(frame, t) if t > 0.5 then while true do end end end }
]])
    local out = dir .. '/forever.mp4'
    local _, err, rc = h.sh(h.q(h.bin) .. ' run ' .. h.q(s) .. ' -q -o ' .. h.q(out) ..
      ' & pid=$!; sleep 1; kill -INT $pid; wait $pid')
    assert.are.equal(130, rc, err)
    assert.truthy(err:find('interrupted', 1, true), err)
    assert.is_false(h.exists(out))
    assert.are.same({}, h.temporaries_of(out))
  end)

  -- Not under TSan: it delivers signals only at the next synchronisation
  -- point, which a thread spinning in top-level Lua never reaches.
  local it_untsan = os.getenv('VSTUDIO_SANITIZE') == 'thread' and pending or it
  it_untsan('stops on SIGTERM with exit 143 while top-level code never returns', function()
    local s = script(dir, 'stuck.lua', [[
local vs = require 'vstudio'
local x = 0
while true do x = x + 1 end
]])
    local out = dir .. '/stuck.mp4'
    local _, err, rc = h.sh(h.q(h.bin) .. ' run ' .. h.q(s) .. ' -q -o ' .. h.q(out) ..
      ' & pid=$!; sleep 0.5; kill -TERM $pid; wait $pid')
    assert.are.equal(143, rc, err)
    assert.truthy(err:find('interrupted', 1, true), err)
    assert.is_false(h.exists(out))
    assert.are.same({}, h.temporaries_of(out))
  end)

  it('keeps memory flat: 10x the frames, about the same peak RSS', function()
    local s = script(dir, 'mem.lua', [[
local vs = require 'vstudio'
return vs.clip{ size = {320, 240}, fps = 30, duration = tonumber(arg[1]),
  draw = function(frame, t) frame:fill(t * 20 % 256, 0, 0) end }
]])
    local function peak(seconds)
      local _, err, rc = h.sh('/usr/bin/time -f "PEAK %M" ' .. h.q(h.bin) .. ' run ' .. h.q(s) ..
        ' -q --preset ultrafast -o ' .. h.q(dir .. '/m.mp4') .. ' -- ' .. seconds)
      assert.are.equal(0, rc, err)
      return tonumber(err:match('PEAK (%d+)'))
    end
    local small, large = peak(1), peak(10)
    assert.is_true(large < small * 1.3, small .. ' KiB for 30 frames, ' .. large .. ' KiB for 300')
  end)
end)
