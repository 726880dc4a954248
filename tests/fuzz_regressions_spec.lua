-- Inputs the fuzzers (scripts/fuzz, make fuzz) found, kept as regressions
-- through the public surface.
local h = require 'helper'

describe('fuzz regressions', function()
  after_each(h.cleanup)

  it('refuses a sort regex with stacked quantifiers instead of exhausting memory', function()
    -- fuzz_framelist: glibc regcomp("s002++++...") grew past 2 GB
    local dir = h.tmpdir()
    local f = require('vstudio').frame(8, 8):fill(1, 2, 3)
    f:save(dir .. '/f_1.png')
    local out, err, rc = h.sh('ulimit -t 20; ' .. h.q(h.bin) .. ' convert ' .. h.q(dir) ..
      " --sort 's002+++++++++++++++++++++++++++++++++pn' --dry-run -o " .. h.q(dir .. '/x.mp4'))
    assert.are.equal(1, rc, err)
    assert.truthy((out .. err):find('stacks quantifiers', 1, true), out .. err)
  end)

  it('refuses a frame rate whose digits overflow an int', function()
    -- fuzz_parse: "256525.00005" scaled to 25652500005/100000 (now the nearest
    -- small fraction, 256525/1); digits beyond int64 are still refused
    local ok, err = pcall(require('vstudio').write, '/tmp/x.mp4', { fps = '1000000.1234567890123' })
    assert.is_false(ok)
    assert.truthy(tostring(err):find('too many digits', 1, true), err)
  end)
end)
