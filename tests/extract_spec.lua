-- extract_spec.lua: `vstudio extract` writes the right frames under the
-- right names (checked against ffmpeg's decode), honours --frames, --every
-- and --format, refuses to overwrite without --force, and fails cleanly.
local helper = require 'helper'
local vs = require 'vstudio'
local q = helper.q

local dir, video, ref

local function list(d)
  local out = helper.sh('ls ' .. q(d))
  local names = {}
  for name in out:gmatch('[^\n]+') do names[#names + 1] = name end
  return names
end

setup(function()
  dir = helper.tmpdir()
  video = dir .. '/in.mp4'
  local _, err, rc = helper.sh('ffmpeg -v error -y -f lavfi -i testsrc2=size=96x64:rate=25 -frames:v 30 ' ..
    '-c:v libx264 -bf 3 -g 10 -pix_fmt yuv420p ' .. q(video))
  assert(rc == 0, err)
  ref = helper.ffmpeg_rgba_frames(video, 96, 64)
end)

teardown(helper.cleanup)

describe('vstudio extract', function()
  it('writes every frame as PNG named by its frame number', function()
    local out = dir .. '/all/sub'
    local _, err, rc = helper.vstudio('extract ' .. q(video) .. ' ' .. q(out))
    assert.are.equal(0, rc, err)
    local names = list(out)
    assert.are.equal(30, #names)
    assert.are.equal('000000.png', names[1])
    assert.are.equal('000029.png', names[30])
    for _, i in ipairs { 0, 7, 13, 29 } do
      local f = vs.load(string.format('%s/%06d.png', out, i))
      assert.are.equal(96, f.width)
      assert.is_true(helper.psnr(helper.frame_bytes(f), ref[i + 1]) >= 40, 'frame ' .. i)
    end
  end)

  it('takes a range and a stride, and writes JPEG with a quality', function()
    local out = dir .. '/part'
    local _, err, rc = helper.vstudio('extract ' .. q(video) .. ' ' .. q(out) ..
      ' --frames 5:20 --every 4 --format jpg --quality 95 -q')
    assert.are.equal(0, rc, err)
    assert.are.equal('', err)
    assert.are.same({ '000005.jpg', '000009.jpg', '000013.jpg', '000017.jpg' }, list(out))
    local f = vs.load(out .. '/000013.jpg')
    assert.is_true(helper.psnr(helper.frame_bytes(f), ref[14]) >= 25)
  end)

  it('names the frame a damaged stream stops at, and labels every frame before it rightly', function()
    local ts = dir .. '/damaged.ts'
    local _, err, rc = helper.sh('ffmpeg -v error -y -f lavfi -i testsrc2=size=64x48:rate=25 -frames:v 40 ' ..
      '-c:v libx264 -g 10 ' .. q(ts))
    assert(rc == 0, err)
    local d = helper.read_file(ts)
    local mid = math.floor(#d / 2)
    local junk = {}
    for i = 1, 3000 do junk[i] = string.char((d:byte(mid + i) * 7 + 13) % 256) end
    helper.write_file(ts, d:sub(1, mid) .. table.concat(junk) .. d:sub(mid + 3001))
    local frames = helper.ffmpeg_rgba_frames(ts, 64, 48)
    local out = dir .. '/damaged'
    _, err, rc = helper.vstudio('extract ' .. q(ts) .. ' ' .. q(out))
    assert.are.equal(1, rc)
    local at = tonumber(err:match('^vstudio: extract: ' .. ts:gsub('%p', '%%%0') .. ': frame (%d+): '))
    assert.is_number(at, err)
    assert.is_true(at > 0 and at < 40, err)
    local names = list(out)
    assert.is_true(#names > 0)
    for _, name in ipairs(names) do
      local i = tonumber(name:match('^(%d+)%.png$'))
      assert.is_true(i < at, name)
      assert.is_true(helper.frame_bytes(vs.load(out .. '/' .. name)) == frames[i + 1], name)
    end
  end)

  it('prints the folder with one slash', function()
    local out = dir .. '/slash'
    local _, err, rc = helper.vstudio('extract ' .. q(video) .. ' ' .. q(out .. '//') .. ' --frames 0:2')
    assert.are.equal(0, rc, err)
    assert.matches('wrote 2 frames to ' .. out .. '/ in', err, 1, true)
    assert.is_nil(err:find('//', 1, true))
    assert.are.same({ '000000.png', '000001.png' }, list(out))
  end)

  it('refuses to overwrite frame files unless --force', function()
    local out = dir .. '/again'
    assert.are.equal(0, select(3, helper.vstudio('extract -q ' .. q(video) .. ' ' .. q(out) .. ' --frames 0:3')))
    helper.write_file(out .. '/000001.png', 'mine')
    local _, err, rc = helper.vstudio('extract ' .. q(video) .. ' ' .. q(out) .. ' --frames 0:5')
    assert.are.equal(1, rc)
    assert.matches('000000.png exists', err)
    assert.matches('--force', err)
    assert.are.equal('mine', helper.read_file(out .. '/000001.png'))
    assert.is_false(helper.exists(out .. '/000004.png'))
    _, err, rc = helper.vstudio('extract -q --force ' .. q(video) .. ' ' .. q(out) .. ' --frames 0:5')
    assert.are.equal(0, rc, err)
    assert.are_not.equal('mine', helper.read_file(out .. '/000001.png'))
    assert.are.equal(5, #list(out))
  end)

  it('fails in one line on a bad video, usage errors exit 2', function()
    local text = dir .. '/text.mp4'
    helper.write_file(text, 'no video here')
    local _, err, rc = helper.vstudio('extract ' .. q(text) .. ' ' .. q(dir .. '/none'))
    assert.are.equal(1, rc)
    assert.matches('^vstudio: extract: .*text.mp4: not a readable video[^\n]*\n$', err)
    assert.is_false(helper.exists(dir .. '/none'))
    _, _, rc = helper.vstudio('extract ' .. q(video) .. ' ' .. q(dir .. '/x') .. ' --format gif')
    assert.are.equal(2, rc)
    _, _, rc = helper.vstudio('extract ' .. q(video))
    assert.are.equal(2, rc)
    _, err, rc = helper.vstudio('extract ' .. q(video) .. ' ' .. q(dir .. '/y') .. ' --frames 100:200')
    assert.are.equal(1, rc)
    assert.matches('30 frames', err)
    local out
    out, _, rc = helper.vstudio('extract --help')
    assert.are.equal(0, rc)
    assert.matches('Usage: vstudio extract', out)
  end)
end)
