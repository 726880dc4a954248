local vs = require 'vstudio'

describe('frame', function()
  it('has width, height and a 64-byte aligned stride', function()
    local f = vs.frame(641, 3)
    assert.are.equal(641, f.width)
    assert.are.equal(3, f.height)
    assert.are.equal(0, f.stride % 64)
    assert.is_true(f.stride >= 641 * 4)
  end)

  it('starts transparent black', function()
    local r, g, b, a = vs.frame(4, 4):get(3, 3)
    assert.are.same({0, 0, 0, 0}, {r, g, b, a})
  end)

  it('sets and gets pixels with 0-based coordinates', function()
    local f = vs.frame(5, 4)
    f:set(4, 3, 10, 20, 30, 40)
    f:set(0, 0, 1, 2, 3)
    assert.are.same({10, 20, 30, 40}, {f:get(4, 3)})
    assert.are.same({1, 2, 3, 255}, {f:get(0, 0)})
  end)

  it('raises an error naming the coordinates when out of range', function()
    local f = vs.frame(5, 4)
    assert.has_error(function() f:get(5, 0) end, 'vstudio: pixel (5, 0) is outside the 5x4 frame')
    assert.has_error(function() f:set(-1, 2, 0, 0, 0) end, 'vstudio: pixel (-1, 2) is outside the 5x4 frame')
    assert.has_error(function() f:get(nil, 0) end, 'vstudio: pixel (nil, 0) is outside the 5x4 frame')
    assert.has_error(function() f:set(0, 'a', 0, 0, 0) end, 'vstudio: pixel (0, a) is outside the 5x4 frame')
  end)

  it('exposes rows as byte pointers for fast loops', function()
    local f = vs.frame(8, 2)
    local row = f:row(1)
    row[7 * 4 + 1] = 99
    assert.are.equal(99, select(2, f:get(7, 1)))
  end)

  it('fills every pixel', function()
    local f = vs.frame(70, 3):fill(1, 2, 3)
    for y = 0, 2 do
      for x = 0, 69 do assert.are.same({1, 2, 3, 255}, {f:get(x, y)}) end
    end
  end)

  it('copies into an independent frame', function()
    local f = vs.frame(3, 3):fill(9, 9, 9)
    local c = f:copy()
    f:set(1, 1, 0, 0, 0)
    assert.are.same({9, 9, 9, 255}, {c:get(1, 1)})
    assert.are.equal('frame 3x3', tostring(c))
  end)

  it('blits with alpha and clips at the edges', function()
    local dst = vs.frame(4, 4):fill(0, 0, 200)
    local src = vs.frame(2, 2):fill(255, 0, 0, 255)
    dst:blit(src, 3, 3)
    assert.are.same({255, 0, 0, 255}, {dst:get(3, 3)})
    assert.are.same({0, 0, 200, 255}, {dst:get(2, 2)})
    dst:blit(vs.frame(1, 1):fill(255, 255, 255, 255), 0, 0, 0.5)
    local r, g, b = dst:get(0, 0)
    assert.is_true(math.abs(r - 128) <= 1 and math.abs(b - 228) <= 1, r .. "," .. b)
  end)

  it('refuses bad blit arguments and channel values instead of crashing or wrapping', function()
    local f = vs.frame(8, 8)
    assert.has_error(function() f:blit(nil, 0, 0) end, 'vstudio: frame:blit: expected a frame to draw, got nil')
    assert.has_error(function() f:blit({}, 0, 0) end, 'vstudio: frame:blit: expected a frame to draw, got table')
    assert.has_error(function() f:blit(vs.frame(2, 2), 0.5, 0) end,
      'vstudio: frame:blit: x must be an integer in -2147483647..2147483647, got 0.5')
    -- 2^32 + 64 would land at x = 64 as a C int
    assert.has_error(function() f:blit(vs.frame(2, 2), 2 ^ 32 + 64, 0) end,
      'vstudio: frame:blit: x must be an integer in -2147483647..2147483647, got 4294967360')
    assert.has_error(function() f:blit(vs.frame(2, 2), 0, 0 / 0) end)
    -- far outside in any direction: nothing drawn (and no int overflow in C, see make check)
    for _, xy in ipairs { { 2 ^ 31 - 1, 0 }, { 0, 2 ^ 31 - 1 }, { -(2 ^ 31 - 1), 0 }, { 0, -(2 ^ 31 - 1) } } do
      f:blit(vs.frame(2, 2):fill(9, 9, 9), xy[1], xy[2])
    end
    assert.has_error(function() f:blit(vs.frame(2, 2), 0, 0, 2) end, 'vstudio: frame:blit: opacity must be 0..1, got 2')
    assert.has_error(function() f:fill(300, -5, 0) end,
      'vstudio: frame:fill: channel values must be 0..255, got 300, -5, 0, 255')
    assert.has_error(function() f:set(0, 0, 1, 2, 256) end,
      'vstudio: frame:set: channel values must be 0..255, got 1, 2, 256, 255')
    assert.has_error(function() f:fill('red', 0, 0) end)
    f:fill(1, 2, 3)
    assert.are.same({ 1, 2, 3, 255 }, { f:get(7, 7) }, 'a refused call changed nothing')
  end)

  it('refuses absurd sizes with a clear error', function()
    assert.has_error(function() vs.frame(40000, 10) end,
      'vstudio: frame: width must be an integer in 1..32768, got 40000')
    assert.has_error(function() vs.frame(0, 10) end)
    assert.has_error(function() vs.frame(1.5, 10) end)
    -- as C ints these were -2147483648 and 64: refused, not truncated
    assert.has_error(function() vs.frame(1e10, 10) end,
      'vstudio: frame: width must be an integer in 1..32768, got 10000000000')
    assert.has_error(function() vs.frame(10, 2 ^ 32 + 64) end,
      'vstudio: frame: height must be an integer in 1..32768, got 4294967360')
    assert.has_error(function() vs.frame(math.huge, 10) end)
    assert.has_error(function() vs.frame(0 / 0, 10) end)
    assert.has_error(function() vs.frame(4, 4):scaled(2 ^ 32 + 64, 4) end,
      'vstudio: scaled: width must be an integer in 1..32768, got 4294967360')
  end)

  it('refuses a JPEG quality outside 1..100, 0 included', function()
    local f = vs.frame(4, 4)
    local dir = os.tmpname()
    os.remove(dir)
    for _, q in ipairs { 0, 101, 50.5, 0 / 0 } do
      assert.has_error(function() f:save(dir .. '.jpg', { quality = q }) end,
        'vstudio: frame:save: JPEG quality must be an integer in 1..100, got ' .. tostring(q))
    end
    assert.is_nil(io.open(dir .. '.jpg'))
    f:save(dir .. '.jpg', { quality = 1 })
    assert.is_not_nil(io.open(dir .. '.jpg'))
    os.remove(dir .. '.jpg')
  end)
end)
