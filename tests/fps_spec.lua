-- fps_spec.lua: one frame-rate parser (vs_parse_rational) for the command
-- line and the Lua API: a rate given as N/D, as a decimal or as a Lua
-- number means the same rate in vs.clip, vs.write and convert --fps, and
-- ffprobe reads that rate back from what was written.
local vs = require 'vstudio'
local helper = require 'helper'
local q = helper.q

local dir
setup(function() dir = helper.tmpdir() end)
teardown(helper.cleanup)

-- Writes two frames with vs.write at `fps` and returns ffprobe's r_frame_rate.
local function written_rate(name, fps)
  local out = dir .. '/' .. name .. '.mp4'
  local w = vs.write(out, { fps = fps })
  w:push(vs.frame(32, 32))
  w:push(vs.frame(32, 32))
  w:close()
  return helper.ffprobe_stream(out).r_frame_rate
end

describe('frame rates', function()
  it('writes at an NTSC video\'s own fps, whatever form it takes', function()
    assert.are.equal('30000/1001', written_rate('div', 30000 / 1001))
    assert.are.equal('30000/1001', written_rate('dec', '29.97'))
    assert.are.equal('24000/1001', written_rate('film', 23.976))
    assert.are.equal('60000/1001', written_rate('str', '60000/1001'))
    assert.are.equal('25/2', written_rate('half', 12.5))
    -- the rate read from an NTSC video goes back in unchanged
    local src = dir .. '/div.mp4'
    assert.are.equal('30000/1001', written_rate('again', vs.video(src).fps))
  end)

  it('gives vs.clip the same rational as vs.write and convert', function()
    for text, want in pairs{ ['23.976'] = { 24000, 1001 }, ['29.97'] = { 30000, 1001 }, ['12.5'] = { 25, 2 },
                             ['30000/1001'] = { 30000, 1001 }, ['25'] = { 25, 1 } } do
      local c = vs.clip{ size = { 16, 16 }, fps = text, duration = 1, draw = function() end }
      assert.are.same(want, { c.fps_num, c.fps_den }, text)
      local n = tonumber(text)
      if n then
        c = vs.clip{ size = { 16, 16 }, fps = n, duration = 1, draw = function() end }
        assert.are.same(want, { c.fps_num, c.fps_den }, 'number ' .. text)
      end
    end
    -- convert --fps parses with the same rules
    local frames = dir .. '/frames'
    os.execute('mkdir -p ' .. q(frames))
    for i = 1, 3 do vs.frame(32, 32):save(string.format('%s/%d.png', frames, i)) end
    local out = dir .. '/conv.mp4'
    local _, err, rc = helper.vstudio('convert ' .. q(frames) .. ' -o ' .. q(out) .. ' --fps 23.976')
    assert.are.equal(0, rc, err)
    assert.are.equal('24000/1001', helper.ffprobe_stream(out).r_frame_rate)
  end)

  it('refuses what is not a rate, naming it', function()
    assert.has_error(function() vs.write(dir .. '/x.mp4', { fps = 'fast' }) end)
    local ok, err = pcall(vs.clip, { size = { 16, 16 }, fps = '30/0', duration = 1, draw = function() end })
    assert.is_false(ok)
    assert.matches("bad rate '30/0'", err, 1, true)
  end)
end)
