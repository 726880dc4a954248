local vs = require 'vstudio'
local helper = require 'helper'

local function count_pixels(f, pred)
  local n = 0
  for y = 0, f.height - 1 do
    for x = 0, f.width - 1 do
      if pred(f:get(x, y)) then n = n + 1 end
    end
  end
  return n
end

describe('text', function()
  it('draws anti-aliased pixels of its colour inside the measured box', function()
    local w, h = vs.text_size('Hello', { size = 20 })
    local f = vs.frame(120, 60):fill(0, 0, 0)
    f:text('Hello', { x = 10, y = 5, size = 20, color = { 255, 200, 0 } })
    local full = count_pixels(f, function(r, g, b) return r == 255 and g == 200 and b == 0 end)
    local partial = count_pixels(f, function(r, g, b) return r > 0 and r < 255 end)
    assert.is_true(full > 30, 'solid text pixels: ' .. full)
    assert.is_true(partial > 10, 'anti-aliased pixels: ' .. partial)
    for y = 0, 59 do
      for x = 0, 119 do
        if f:get(x, y) > 0 then
          assert.is_true(x >= 10 and x < 10 + w + 2 and y >= 5 and y < 5 + h, 'pixel ' .. x .. ',' .. y .. ' in box')
        end
      end
    end
  end)

  it('measures consistently: longer is wider, two lines are twice as tall, size scales', function()
    local w1, h1 = vs.text_size('ab', { size = 20 })
    local w2, h2 = vs.text_size('abab', { size = 20 })
    local w3, h3 = vs.text_size('abab\nab', { size = 20 })
    local w4, h4 = vs.text_size('ab', { size = 40 })
    assert.is_true(w1 > 0 and h1 > 0)
    assert.is_true(math.abs(w2 - 2 * w1) <= 2)
    assert.are.equal(h1, h2)
    assert.are.equal(w2, w3)
    assert.are.equal(2 * h1, h3)
    assert.is_true(math.abs(w4 - 2 * w1) <= 2 and math.abs(h4 - 2 * h1) <= 2)
  end)

  local drawn_box = helper.ink_box

  it('handles UTF-8 and aligns lines inside the box', function()
    local w = vs.text_size('Grüße – ✓', { size = 16 })
    assert.is_true(w > 40)
    -- the second line's start relative to the first's
    local function indent(align)
      local f = vs.frame(200, 40):fill(0, 0, 0)
      f:text('wide line\ni', { x = 100, size = 16, align = align })
      return drawn_box(f, 20, 39) - drawn_box(f, 0, 19)
    end
    assert.is_true(indent('left') < indent('center') and indent('center') < indent('right'))
  end)

  it('puts x at the left edge, the centre or the right edge of the text by align', function()
    for _, size in ipairs { 14, 30 } do
      for _, x in ipairs { 150, 200, 251 } do
        local ends = {}
        for _, align in ipairs { 'left', 'center', 'right' } do
          local f = vs.frame(400, 50):fill(0, 0, 0)
          f:text('Centre me', { x = x, y = 5, size = size, align = align })
          local minx, maxx = drawn_box(f)
          ends[align] = { minx, maxx }
        end
        local tol = 2 + size / 10 -- the glyphs' side bearings
        assert.is_true(math.abs(ends.left[1] - x) <= tol, 'left ' .. ends.left[1] .. ' at ' .. x)
        assert.is_true(math.abs((ends.center[1] + ends.center[2]) / 2 - x) <= tol,
          'centre ' .. ends.center[1] .. '..' .. ends.center[2] .. ' at ' .. x)
        assert.is_true(math.abs(ends.right[2] + 1 - x) <= tol, 'right ' .. ends.right[2] .. ' at ' .. x)
      end
    end
  end)

  it('centres the box with x/y = "center"', function()
    local w, h = vs.text_size('Mid', { size = 20 })
    local f = vs.frame(100, 60):fill(0, 0, 0)
    f:text('Mid', { size = 20, x = 'center', y = 'center' })
    local minx, maxx, miny, maxy = drawn_box(f)
    local x0, y0 = math.floor((100 - w) / 2), math.floor((60 - h) / 2)
    assert.is_true(minx >= x0 and maxx <= x0 + w + 1 and miny >= y0 and maxy < y0 + h)
    assert.is_true(math.abs((minx + maxx) / 2 - 50) <= 3)
    assert.has_error(function() f:text('x', { x = 'middle' }) end,
                     'vstudio: text: x and y must be numbers or "center", got middle, 0')
  end)

  it('takes a font path and names a missing one', function()
    local w1 = vs.text_size('Mono', { size = 20, font = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf' })
    local w2 = vs.text_size('Mono', { size = 20, font = 'DejaVuSansMono' })
    assert.are.equal(w1, w2)
    local ok, err = pcall(function() vs.text_size('x', { font = 'NoSuchFont' }) end)
    assert.is_false(ok)
    assert.matches('text_spec.lua:%d+: vstudio: text_size: font not found: NoSuchFont', err)
    ok, err = pcall(function() vs.text_size('x', { size = 0 }) end)
    assert.matches('vstudio: text_size: size must be a number of pixels in 1..2000, got 0', err)
    ok, err = pcall(function() vs.text_size('x', { font = '/etc/hostname' }) end)
    assert.matches('not a font', err)
  end)
end)
