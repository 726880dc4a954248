local vs = require 'vstudio'

local function black(w, h) return vs.frame(w or 40, h or 30):fill(0, 0, 0) end

describe('frame drawing', function()
  it('rect fills inside, not outside, with partial coverage on fractional edges', function()
    local f = black():rect{ x = 5, y = 6, w = 10, h = 4, color = { 255, 0, 0 } }
    assert.are.same({ 255, 0, 0, 255 }, { f:get(5, 6) })
    assert.are.same({ 255, 0, 0, 255 }, { f:get(14, 9) })
    assert.are.same({ 0, 0, 0, 255 }, { f:get(15, 9) })
    assert.are.same({ 0, 0, 0, 255 }, { f:get(5, 10) })
    local g = black():rect{ 2.5, 2, 4, 1, '#ffffff' }
    local r = g:get(2, 2)
    assert.is_true(math.abs(r - 128) <= 1, 'half-covered pixel is half white, got ' .. r)
    assert.are.equal(255, (g:get(3, 2)))
  end)

  it('rect blends a translucent colour over the frame', function()
    local f = vs.frame(4, 4):fill(0, 0, 200):rect{ color = { 255, 0, 0, 128 } }
    local r, g, b, a = f:get(1, 1)
    assert.is_true(math.abs(r - 128) <= 1 and g == 0 and math.abs(b - 100) <= 1 and a == 255)
  end)

  it('circle covers its disc with an anti-aliased edge', function()
    local f = black():circle{ x = 20, y = 15, r = 8, color = { 0, 255, 0 } }
    assert.are.same({ 0, 255, 0, 255 }, { f:get(20, 15) })
    assert.are.same({ 0, 255, 0, 255 }, { f:get(13, 15) })
    assert.are.same({ 0, 0, 0, 255 }, { f:get(20, 24) })
    assert.are.same({ 0, 0, 0, 255 }, { f:get(26, 21) })
    local partial = 0
    for y = 0, 29 do
      for x = 0, 39 do
        local _, g = f:get(x, y)
        if g > 0 and g < 255 then partial = partial + 1 end
      end
    end
    assert.is_true(partial > 20, 'edge pixels are partly covered: ' .. partial)
    -- the area is close to pi r^2
    local sum = 0
    for y = 0, 29 do for x = 0, 39 do sum = sum + select(2, f:get(x, y)) / 255 end end
    assert.is_true(math.abs(sum - math.pi * 64) < 2, 'area ' .. sum)
  end)

  it('line has its width and round caps', function()
    local f = black():line{ x0 = 5, y0 = 10.5, x1 = 30, y1 = 10.5, width = 5, color = { 255, 255, 255 } }
    assert.are.same({ 255, 255, 255, 255 }, { f:get(15, 10) })
    assert.are.same({ 255, 255, 255, 255 }, { f:get(15, 8) })
    assert.are.same({ 255, 255, 255, 255 }, { f:get(15, 12) })
    assert.are.same({ 0, 0, 0, 255 }, { f:get(15, 14) })
    assert.are.same({ 0, 0, 0, 255 }, { f:get(15, 6) })
    assert.are.same({ 255, 255, 255, 255 }, { f:get(4, 10) })   -- cap beyond the end point
    assert.are.same({ 0, 0, 0, 255 }, { f:get(35, 10) })
    local d = black():line{ 0, 0, 39, 29, 1 }
    local r = d:get(20, 15)
    assert.is_true(r > 0, 'diagonal drawn')
  end)

  it('polygon fills inside with anti-aliased slanted edges', function()
    local f = black():polygon{ points = { { 5, 5 }, { 35, 5 }, { 5, 25 } }, color = { 0, 0, 255 } }
    assert.are.same({ 0, 0, 255, 255 }, { f:get(8, 8) })
    assert.are.same({ 0, 0, 0, 255 }, { f:get(30, 20) })
    assert.are.same({ 0, 0, 0, 255 }, { f:get(4, 10) })
    local partial = 0
    for x = 5, 34 do
      for y = 5, 24 do
        local b = select(3, f:get(x, y))
        if b > 0 and b < 255 then partial = partial + 1 end
      end
    end
    assert.is_true(partial >= 20, 'hypotenuse pixels are partial: ' .. partial)
    local sum = 0
    for y = 0, 29 do for x = 0, 39 do sum = sum + select(3, f:get(x, y)) / 255 end end
    assert.is_true(math.abs(sum - 300) < 1.5, 'area ' .. sum)
    -- flat point list, a square with exact coverage
    local sq = black():polygon{ { 10, 10, 20, 10, 20, 20, 10, 20 }, { 9, 9, 9 } }
    assert.are.same({ 9, 9, 9, 255 }, { sq:get(10, 10) })
    assert.are.same({ 0, 0, 0, 255 }, { sq:get(20, 20) })
  end)

  -- The covered area: the sum of a channel drawn at 255 on black, in pixels.
  local function area(f)
    local sum = 0
    for y = 0, f.height - 1 do for x = 0, f.width - 1 do sum = sum + select(3, f:get(x, y)) / 255 end end
    return sum
  end

  it('polygon clips to the frame, keeps non-zero winding and takes 100,000 points quickly', function()
    -- a triangle reaching left of the frame: the part inside is 640 px
    assert.is_true(math.abs(area(vs.frame(64, 48):fill(0, 0, 0):polygon{ { -20, 0, 40, 0, -20, 48 },
      color = { 0, 0, 255 } }) - 640) < 1.5)
    -- a square larger than the frame on every side covers all of it
    assert.are.equal(64 * 48, area(vs.frame(64, 48):fill(0, 0, 0):polygon{ { -9, -9, 80, -9, 80, 60, -9, 60 },
      color = { 0, 0, 255 } }))
    -- a pentagram: its centre has winding 2 and is inside under non-zero
    local star = {}
    for k = 0, 4 do
      local a = math.pi * 2 * (2 * k) / 5 - math.pi / 2
      star[#star + 1] = { 32 + 20 * math.cos(a), 24 + 20 * math.sin(a) }
    end
    local f = vs.frame(64, 48):fill(0, 0, 0):polygon{ star, color = { 0, 0, 255 } }
    assert.are.same({ 0, 0, 255, 255 }, { f:get(32, 24) })
    -- a circle of 100,000 points (area pi r^2) and 100,000 random points: seconds, not minutes
    local circle, noise = {}, {}
    for k = 1, 100000 do
      local a = k / 100000 * 2 * math.pi
      circle[k] = { 32 + 20 * math.cos(a), 24 + 20 * math.sin(a) }
      noise[k] = { (k * 7919 % 6400) / 100, (k * 104729 % 4800) / 100 }
    end
    local t = os.clock()
    local c = vs.frame(64, 48):fill(0, 0, 0):polygon{ circle, color = { 0, 0, 255 } }
    vs.frame(64, 48):fill(0, 0, 0):polygon{ noise, color = { 0, 0, 255 } }
    assert.is_true(os.clock() - t < 5, 'seconds: ' .. (os.clock() - t))
    assert.is_true(math.abs(area(c) - math.pi * 400) < 2, 'circle area ' .. area(c))
  end)

  it('path strokes a polyline: width, caps and the exact area', function()
    local function stroke(spec)
      local f = vs.frame(64, 48):fill(0, 0, 0)
      spec.color = spec.color or { 0, 0, 255 }
      return f:path(spec)
    end
    -- butt caps: a 40 x 6 rectangle, with exact coverage (same as rect)
    local butt = stroke { points = { { 10, 20 }, { 50, 20 } }, width = 6, cap = 'butt' }
    assert.is_true(math.abs(area(butt) - 240) < 0.5, 'butt area ' .. area(butt))
    assert.are.same({ 0, 0, 255, 255 }, { butt:get(10, 17) })
    assert.are.same({ 0, 0, 0, 255 }, { butt:get(9, 20) })
    assert.are.same({ 0, 0, 0, 255 }, { butt:get(30, 23) })
    -- square caps reach half the width past the ends; round caps add a disc
    local square = stroke { points = { { 10, 20 }, { 50, 20 } }, width = 6, cap = 'square' }
    assert.is_true(math.abs(area(square) - 46 * 6) < 0.5)
    local round = stroke { points = { { 10, 20 }, { 50, 20 } }, width = 6, cap = 'round' }
    assert.is_true(math.abs(area(round) - (240 + math.pi * 9)) < 1, 'round area ' .. area(round))
    -- a diagonal has anti-aliased edges
    local diag = stroke { points = { { 5, 5 }, { 55, 40 } }, width = 3 }
    local partial = 0
    for y = 0, 47 do for x = 0, 63 do
      local b = select(3, diag:get(x, y))
      if b > 0 and b < 255 then partial = partial + 1 end
    end end
    assert.is_true(partial > 60, 'partial edge pixels ' .. partial)
  end)

  it('path joins corners as asked and never draws an overlap twice', function()
    local corner = { { 10, 40 }, { 10, 10 }, { 40, 10 } }
    local function at_corner(join)
      local f = vs.frame(64, 48):fill(0, 0, 0):path{ points = corner, width = 8, join = join, cap = 'butt', color = { 0, 0, 255 } }
      return select(3, f:get(6, 6)), area(f)
    end
    local miter, a_miter = at_corner('miter')
    local bevel, a_bevel = at_corner('bevel')
    local round, a_round = at_corner('round')
    assert.are.equal(255, miter, 'a miter fills the outer corner')
    assert.are.equal(0, bevel, 'a bevel cuts it')
    -- areas: two 30 x 8 arms that overlap in a 4 x 4 square, plus the join's wedge (the
    -- miter's is the 4 x 4 outer corner, the bevel's half of it, the round's a quarter disc)
    assert.is_true(a_bevel < a_round and a_round < a_miter, a_bevel .. ' ' .. a_round .. ' ' .. a_miter)
    assert.is_true(math.abs(a_miter - (240 + 240 - 16 + 16)) < 1, 'miter area ' .. a_miter)
    assert.is_true(math.abs(a_bevel - (240 + 240 - 16 + 8)) < 1, 'bevel area ' .. a_bevel)
    assert.is_true(math.abs(a_round - (240 + 240 - 16 + math.pi * 4)) < 1, 'round area ' .. a_round)
    -- closed: the last point joins the first; a square outline's area is outer - inner
    local sq = vs.frame(64, 48):fill(0, 0, 0):path{ points = { 10, 10, 40, 10, 40, 40, 10, 40 }, closed = true,
                                                     width = 4, join = 'miter', color = { 0, 0, 255 } }
    assert.is_true(math.abs(area(sq) - (34 * 34 - 26 * 26)) < 1, 'closed square ' .. area(sq))
    -- a translucent figure eight crossing itself: the crossing is blended once
    local eight = vs.frame(64, 48):fill(0, 0, 0):path{ points = { 10, 10, 50, 40, 50, 10, 10, 40 }, width = 6,
                                                        color = { 0, 0, 255, 128 } }
    assert.are.equal(select(3, eight:get(20, 17)), select(3, eight:get(30, 25)))
  end)

  it('path draws a 1,000-point curve in one call, and refuses bad paths', function()
    local pts = {}
    for i = 0, 999 do pts[#pts + 1] = { i * 0.06, 24 + 20 * math.sin(i / 50) } end
    local f = vs.frame(64, 48):fill(0, 0, 0):path{ points = pts, width = 2, color = { 0, 0, 255 } }
    assert.is_true(area(f) > 100)
    local g = black()
    assert.has_error(function() g:path{ points = { { 1, 1 } } } end, 'vstudio: path: needs at least 2 points {x, y}, got 1')
    assert.has_error(function() g:path{ points = { 1, 1, 5, 5 }, join = 'sharp' } end,
                     'vstudio: path: join must be "round", "miter" or "bevel", got sharp')
    assert.has_error(function() g:path{ points = { 1, 1, 5, 5 }, width = 0 } end, 'vstudio: path: width must be > 0, got 0')
    assert.has_error(function() g:path{ points = { 1, 1, 0 / 0, 5 } } end)
    -- repeated points and a single point with a round cap (a dot)
    local dot = vs.frame(64, 48):fill(0, 0, 0):path{ points = { 20, 20, 20, 20 }, width = 10, color = { 0, 0, 255 } }
    assert.is_true(math.abs(area(dot) - math.pi * 25) < 1.5)
  end)

  it('rect rounds its corners with radius', function()
    local f = black():rect{ x = 5, y = 5, w = 30, h = 20, radius = 6, color = { 0, 0, 255 } }
    assert.are.equal(0, select(3, f:get(5, 5)), 'the corner is cut')
    assert.are.equal(255, select(3, f:get(20, 5)), 'the edge is not')
    assert.is_true(math.abs(area(f) - (600 - (4 - math.pi) * 36)) < 1.5, 'area ' .. area(f))
  end)

  it('gradient goes from one colour to the other', function()
    local f = vs.frame(10, 100):gradient{ { 0, 0, 0 }, { 200, 100, 0 } }
    assert.is_true(f:get(5, 0) <= 2)
    assert.is_true(f:get(5, 99) >= 198)
    local r = f:get(5, 50)
    assert.is_true(math.abs(r - 101) <= 2, 'middle ' .. r)
    local h = vs.frame(100, 4):gradient{ '#000000', '#ffffff', direction = 'horizontal' }
    assert.is_true(h:get(0, 0) < h:get(50, 0) and h:get(50, 0) < h:get(99, 0))
  end)

  it('scaled keeps flat colours exact and averages when shrinking', function()
    local flat = vs.frame(30, 20):fill(10, 200, 30, 255):scaled(77, 41)
    assert.are.same({ 77, 41 }, { flat.width, flat.height })
    for _, p in ipairs { { 0, 0 }, { 76, 40 }, { 38, 20 } } do
      assert.are.same({ 10, 200, 30, 255 }, { flat:get(p[1], p[2]) })
    end
    local checker = vs.frame(64, 64)
    for y = 0, 63 do for x = 0, 63 do
      local v = (x + y) % 2 == 0 and 255 or 0
      checker:set(x, y, v, v, v)
    end end
    local small = checker:scaled(16, 16)
    for _, p in ipairs { { 3, 3 }, { 8, 9 } } do
      local r = small:get(p[1], p[2])
      assert.is_true(math.abs(r - 128) <= 2, 'no aliasing: ' .. r)
    end
    -- transparent pixels do not bleed their colour
    local a = vs.frame(8, 8)
    a:rect{ 0, 0, 4, 8, { 255, 0, 0 } }
    local r, g, b = a:scaled(4, 4):get(2, 1)
    assert.are.same({ 255, 0, 0 }, { r, g, b })
  end)

  it('refuses bad shapes', function()
    local f = black()
    assert.has_error(function() f:rect{ 0, 0, -1, 4 } end, 'vstudio: rect: w and h must be >= 0, got -1, 4')
    assert.has_error(function() f:circle{ 1, 1, 5, color = { 300, 0, 0 } } end)
    assert.has_error(function() f:polygon{ { { 1, 1 }, { 2, 2 } } } end, 'vstudio: polygon: needs at least 3 points {x, y}, got 2')
    assert.has_error(function() f:line{ 0, 0, 1, 1, 0 } end, 'vstudio: line: width must be > 0, got 0')
    assert.has_error(function() f:scaled(0, 4) end)
  end)
end)
