-- Every runnable example renders (briefly) through `vstudio run`.
local h = require 'helper'

-- Examples that are not render scripts: plain luajit and python3 programs
-- that take videos and frame folders as arguments.
local programs = { ['examples/dataset_loop.lua'] = true }

local function examples(pattern)
  local list = {}
  local p = io.popen('ls ' .. (pattern or 'examples/*.lua'))
  for line in p:lines() do
    if pattern or not programs[line] then list[#list + 1] = line end
  end
  p:close()
  return list
end

describe('examples', function()
  local dir
  setup(function() dir = h.tmpdir() end)
  teardown(h.cleanup)

  it('has the examples the README promises', function()
    local names = table.concat(examples(), ' ')
    for _, name in ipairs { 'plasma', 'shapes', 'args', 'title', 'act', 'sequence', 'pip' } do
      assert.truthy(names:find('examples/' .. name .. '.lua', 1, true), name)
    end
  end)

  -- a clip and a frame folder for the programs to read
  local function media()
    local clip, shots = dir .. '/clip.mp4', dir .. '/shots'
    if not h.exists(clip) then
      local _, err, rc = h.sh('ffmpeg -v error -y -f lavfi -i testsrc2=s=96x64:r=25 -frames:v 30 ' .. h.q(clip) ..
        ' && mkdir -p ' .. h.q(shots) .. ' && ffmpeg -v error -y -f lavfi -i testsrc=s=80x60:r=5 -frames:v 9 ' ..
        h.q(shots .. '/f%d.png'))
      assert.are.equal(0, rc, err)
    end
    return h.q(clip) .. ' ' .. h.q(shots)
  end

  it('runs examples/dataset_loop.lua over a clip and a frame folder', function()
    local preload = os.getenv('VSTUDIO_SANITIZE') == 'address' and
      'LD_PRELOAD="$(cc -print-file-name=libasan.so) $(cc -print-file-name=libubsan.so)" ' or ''
    local out, err, rc = h.sh(preload .. "LUA_PATH='lua/?.lua;lua/?/init.lua;;' luajit examples/dataset_loop.lua " .. media())
    assert.are.equal(0, rc, err)
    assert.truthy(out:find('20 frames from 2 sources', 1, true), out)  -- every = 2: 15 + 5
    assert.truthy(out:find('3 batches, 20 frames', 1, true), out)
  end)

  for _, script in ipairs(examples('examples/*.py')) do
    it('runs ' .. script .. ' over a clip and a frame folder', function()
      local _, _, has_torch = h.sh("/usr/bin/python3 -c 'import torch'")
      if has_torch ~= 0 then pending('python3-torch is not installed') return end
      local preload = os.getenv('VSTUDIO_SANITIZE') == 'address' and
        'LD_PRELOAD="$(cc -print-file-name=libasan.so) $(cc -print-file-name=libubsan.so)" ' or ''
      local out, err, rc = h.sh(preload .. 'PYTHONPATH=python /usr/bin/python3 ' .. h.q(script) .. ' ' .. media())
      assert.are.equal(0, rc, err)
      assert.truthy(out:find('epoch 1: 39 of 39 frames', 1, true), out)
    end)
  end

  for _, script in ipairs(examples()) do
    it('renders ' .. script, function()
      local out = dir .. '/' .. script:match('([^/]+)%.lua$') .. '.mp4'
      local _, err, rc = h.vstudio('run ' .. h.q(script) .. ' -q --frames 0:3 -o ' .. h.q(out))
      assert.are.equal(0, rc, err)
      assert.are.equal(3, h.ffprobe_frames(out))
    end)
  end
end)
