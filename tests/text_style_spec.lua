-- Text style: fill opacity, outline, drop shadow, background box.
local vs = require 'vstudio'

local function each_pixel(f, fn)
  for y = 0, f.height - 1 do
    for x = 0, f.width - 1 do fn(x, y, f:get(x, y)) end
  end
end

local W, H = 160, 80
local function draw(opts)
  local f = vs.frame(W, H):fill(0, 0, 0)
  opts.x, opts.y, opts.size = opts.x or 30, opts.y or 15, opts.size or 40
  return f:text('Hob', opts)
end

describe('text style', function()
  it('draws an outline of its width and colour around the fill', function()
    local plain = draw { color = { 255, 255, 255 } }
    local out = draw { color = { 255, 255, 255 }, outline = 3, outline_color = { 255, 0, 0 } }
    local ring, far, inner_kept = 0, 0, 0
    each_pixel(out, function(x, y, r, g, b)
      local pr = plain:get(x, y)
      if pr == 255 then
        if r == 255 and g == 255 and b == 255 then inner_kept = inner_kept + 1 end
      elseif pr == 0 and r == 255 and g == 0 and b == 0 then
        ring = ring + 1
        -- within 3 px (+1 for the edge) of the plain glyphs' ink
        local near = false
        for dy = -4, 4 do
          for dx = -4, 4 do
            local xx, yy = x + dx, y + dy
            if xx >= 0 and yy >= 0 and xx < W and yy < H and dx * dx + dy * dy <= 16 and plain:get(xx, yy) > 0 then near = true end
          end
        end
        if not near then far = far + 1 end
      end
    end)
    assert.is_true(ring > 200, 'solid outline pixels: ' .. ring)
    assert.are.equal(0, far, 'outline pixels farther than its width from the glyphs')
    assert.is_true(inner_kept > 100, 'the fill stays on top: ' .. inner_kept)
  end)

  it('casts a shadow at its offset, blurred on request', function()
    local plain = draw { color = { 255, 255, 255 } }
    local sh = draw { color = { 255, 255, 255 }, shadow = { x = 6, y = 5, color = { 0, 255, 0 } } }
    local green, matched = 0, 0
    each_pixel(sh, function(x, y, r, g, b)
      if r == 0 and g == 255 and b == 0 then
        green = green + 1
        if x >= 6 and y >= 5 and plain:get(x - 6, y - 5) == 255 then matched = matched + 1 end
      end
    end)
    assert.is_true(green > 100, 'shadow pixels: ' .. green)
    assert.is_true(matched >= green * 0.95, 'the shadow is the text moved by (6, 5): ' .. matched .. ' of ' .. green)
    local blurred = draw { color = { 255, 255, 255 }, shadow = { x = 6, y = 5, blur = 6, color = { 0, 255, 0 } } }
    local partial, mass, mass_sharp = 0, 0, 0
    each_pixel(blurred, function(x, y, r, g) if r == 0 and g > 0 and g < 255 then partial = partial + 1 end end)
    -- the shadow alone (no fill on top): blur spreads it and keeps its mass
    local s0 = draw { color = { 0, 0, 0, 0 }, shadow = { x = 6, y = 5, color = { 0, 255, 0 } } }
    local s1 = draw { color = { 0, 0, 0, 0 }, shadow = { x = 6, y = 5, blur = 6, color = { 0, 255, 0 } } }
    each_pixel(s0, function(_, _, _, g) mass_sharp = mass_sharp + g end)
    each_pixel(s1, function(_, _, _, g) mass = mass + g end)
    assert.is_true(partial > 400, 'blurred shadow pixels: ' .. partial)
    assert.is_true(math.abs(mass - mass_sharp) < mass_sharp * 0.05, 'mass ' .. mass .. ' vs ' .. mass_sharp)
  end)

  it('fills with the colour\'s alpha and the text\'s opacity, outline and fill as one layer', function()
    local half = draw { color = { 255, 255, 255 }, opacity = 0.5 }
    local seen = {}
    each_pixel(half, function(_, _, r) seen[r] = true end)
    assert.is_true(seen[128] or seen[127], 'solid pixels at half opacity are half grey')
    assert.is_nil(seen[255])
    -- with an outline at half opacity, the glyph interior is the fill, not fill over outline
    local both = draw { color = { 255, 255, 255 }, outline = 2, outline_color = { 255, 0, 0 }, opacity = 0.5 }
    local plain = draw { color = { 255, 255, 255 } }
    each_pixel(both, function(x, y, r, g, b)
      if plain:get(x, y) == 255 then
        assert.is_true(math.abs(r - 128) <= 1 and math.abs(g - 128) <= 1, 'interior ' .. r .. ',' .. g .. ',' .. b)
      end
    end)
  end)

  it('puts a background box with padding and rounded corners behind the text', function()
    local w, h = vs.text_size('Hob', { size = 40 })
    local f = draw { color = { 255, 255, 255 }, background = { 0, 0, 255 }, padding = 8, radius = 10 }
    local x0, y0, x1, y1 = 30 - 8, 15 - 8, 30 + w + 8, 15 + h + 8 -- the box [x0, x1) x [y0, y1)
    assert.are.same({ 0, 0, 255 }, { (function(r, g, b) return r, g, b end)(f:get(x0 + 1, math.floor((y0 + y1) / 2))) })
    assert.are.same({ 0, 0, 255 }, { (function(r, g, b) return r, g, b end)(f:get(math.floor((x0 + x1) / 2), y0)) })
    assert.are.equal(0, select(3, f:get(x0 - 1, y0 + 12)), 'nothing left of the box')
    assert.are.equal(0, select(3, f:get(x0, y0)), 'the corner is rounded off')
    assert.are.equal(0, select(3, f:get(x1 - 1, y1 - 1)))
    assert.are.equal(255, select(3, f:get(x0 + 10, y0 + 3)), 'inside the arc')
  end)

  it('vs.text makes room for the outline and shadow', function()
    local w, h = vs.text_size('Hi', { size = 30 })
    local t = vs.text('Hi', { size = 30, outline = 4, shadow = { x = 3, y = 3, blur = 2 }, duration = 1 })
    assert.is_true(t.width >= w + 2 * 7 and t.height >= h + 2 * 7, t.width .. 'x' .. t.height)
    local f = t:frame(0)
    -- nothing touches the clip's edges: the shadow and outline fit
    for x = 0, t.width - 1 do
      assert.are.equal(0, select(4, f:get(x, 0)))
      assert.are.equal(0, select(4, f:get(x, t.height - 1)))
    end
    assert.has_error(function() vs.text('x', { shadow = 3 }) end,
                     'vstudio: text: shadow must be true or {x =, y =, blur =, color =}')
    assert.has_error(function() vs.text('x', { opacity = 2 }) end,
                     'vstudio: text: opacity must be a number in [0, 1], got 2')
  end)
end)
