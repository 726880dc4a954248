-- Every runnable example renders (briefly) through `vstudio run`.
local h = require 'helper'

local function examples()
  local list = {}
  local p = io.popen('ls examples/*.lua')
  for line in p:lines() do list[#list + 1] = line end
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

  for _, script in ipairs(examples()) do
    it('renders ' .. script, function()
      local out = dir .. '/' .. script:match('([^/]+)%.lua$') .. '.mp4'
      local _, err, rc = h.vstudio('run ' .. h.q(script) .. ' -q --frames 0:3 -o ' .. h.q(out))
      assert.are.equal(0, rc, err)
      assert.are.equal(3, h.ffprobe_frames(out))
    end)
  end
end)
