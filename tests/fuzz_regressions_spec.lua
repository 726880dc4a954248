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

  it('gives a PNG with a chunk type libpng refuses one verdict on both PNG paths', function()
    -- fuzz_image: "pHY\0" (an ancillary chunk, so no CRC check) loaded through the
    -- libdeflate fast path while libpng refused it: the size read disagreed
    local hex = '89504e470d0a1a0a0000000d49484452000000100000000c08060000006be73d8100000009704859000000f501000000' ..
      '01004f25c4d6000000a649444154789c63f8cbc0f01f1933fc83e0bf7f219881e11f0afec7f0178c19feff8760aa1960' ..
      '07c50c76106c6b0bc10c0c7628d896c1168c19ecec2078181aa06c08c1cfdac4c1f8719309184b31f080b13f031f18df' ..
      'ead40263ac064c5d1c06d6dca6c6f03f082806326075d75cb801676b7ac09af3e518300df8570fc1e85e8089c3304e2f' ..
      '50cd803c3d86ffe7faf4fe1f6bcff86fcac08061808726c3ffcd5342283700002e3160d8d7336d980000000049454e44' ..
      'ae426082'
    local dir = h.tmpdir()
    h.write_file(dir .. '/bad.png', (hex:gsub('..', function(b) return string.char(tonumber(b, 16)) end)))
    local script = dir .. '/load.lua'
    h.write_file(script, ('package.path = %q\nlocal ok, err = pcall(require("vstudio").load, arg[1])\n' ..
      'io.write(ok and "loaded" or err)\n'):format(package.path))
    local preload = os.getenv('LD_PRELOAD') and 'LD_PRELOAD=' .. h.q(os.getenv('LD_PRELOAD')) .. ' ' or ''
    for _, env in ipairs { '', 'VSTUDIO_NO_LIBDEFLATE=1 ' } do
      local out = h.sh(env .. preload .. 'luajit ' .. h.q(script) .. ' ' .. h.q(dir .. '/bad.png'))
      assert.matches('bad%.png: corrupt PNG %(pHY.*invalid chunk type%)', out)
    end
  end)

  it('refuses a 16-bit PNG of an unknown colour type without reading past a table', function()
    -- fuzz_image: colour type 8 at depth 16 was taken as a fast-path kind
    -- (an out-of-bounds read under ASan); libpng refuses it
    local dir = h.tmpdir()
    require('vstudio').frame(16, 12):fill(1, 2, 3):save(dir .. '/ok.png')
    local data = h.read_file(dir .. '/ok.png')
    local ihdr = 'IHDR' .. data:sub(17, 24) .. string.char(16, 8) .. data:sub(27, 29)
    h.write_file(dir .. '/bad.png', data:sub(1, 12) .. ihdr .. h.be32(h.crc32(ihdr)) .. data:sub(34))
    local ok, err = pcall(require('vstudio').load, dir .. '/bad.png')
    assert.is_false(ok)
    assert.matches('bad%.png: corrupt PNG', err)
  end)
end)
