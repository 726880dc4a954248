local vs = require 'vstudio'

-- The formulas as published with Penner's equations (easings.net forms).
local pi, sin, cos, sqrt = math.pi, math.sin, math.cos, math.sqrt
local c1 = 1.70158
local c3 = c1 + 1
local c4 = 2 * pi / 3
local function bounce_out(x)
  local n1, d1 = 7.5625, 2.75
  if x < 1 / d1 then return n1 * x * x
  elseif x < 2 / d1 then x = x - 1.5 / d1 return n1 * x * x + 0.75
  elseif x < 2.5 / d1 then x = x - 2.25 / d1 return n1 * x * x + 0.9375 end
  x = x - 2.625 / d1
  return n1 * x * x + 0.984375
end

local formulas = {
  linear = function(x) return x end,
  in_quad = function(x) return x * x end,
  out_quad = function(x) return 1 - (1 - x) * (1 - x) end,
  in_out_quad = function(x) return x < 0.5 and 2 * x * x or 1 - (-2 * x + 2) ^ 2 / 2 end,
  in_cubic = function(x) return x ^ 3 end,
  out_cubic = function(x) return 1 - (1 - x) ^ 3 end,
  in_out_cubic = function(x) return x < 0.5 and 4 * x ^ 3 or 1 - (-2 * x + 2) ^ 3 / 2 end,
  in_quart = function(x) return x ^ 4 end,
  out_quart = function(x) return 1 - (1 - x) ^ 4 end,
  in_out_quart = function(x) return x < 0.5 and 8 * x ^ 4 or 1 - (-2 * x + 2) ^ 4 / 2 end,
  in_quint = function(x) return x ^ 5 end,
  out_quint = function(x) return 1 - (1 - x) ^ 5 end,
  in_out_quint = function(x) return x < 0.5 and 16 * x ^ 5 or 1 - (-2 * x + 2) ^ 5 / 2 end,
  in_sine = function(x) return 1 - cos(x * pi / 2) end,
  out_sine = function(x) return sin(x * pi / 2) end,
  in_out_sine = function(x) return -(cos(pi * x) - 1) / 2 end,
  in_expo = function(x) return x == 0 and 0 or 2 ^ (10 * x - 10) end,
  out_expo = function(x) return x == 1 and 1 or 1 - 2 ^ (-10 * x) end,
  in_out_expo = function(x)
    if x == 0 or x == 1 then return x end
    return x < 0.5 and 2 ^ (20 * x - 10) / 2 or (2 - 2 ^ (-20 * x + 10)) / 2
  end,
  in_circ = function(x) return 1 - sqrt(1 - x * x) end,
  out_circ = function(x) return sqrt(1 - (x - 1) ^ 2) end,
  in_out_circ = function(x)
    return x < 0.5 and (1 - sqrt(1 - (2 * x) ^ 2)) / 2 or (sqrt(1 - (-2 * x + 2) ^ 2) + 1) / 2
  end,
  in_back = function(x) return c3 * x ^ 3 - c1 * x * x end,
  out_back = function(x) return 1 + c3 * (x - 1) ^ 3 + c1 * (x - 1) ^ 2 end,
  in_out_back = function(x)
    local c2 = c1 * 1.525
    return x < 0.5 and ((2 * x) ^ 2 * ((c2 + 1) * 2 * x - c2)) / 2
                   or ((2 * x - 2) ^ 2 * ((c2 + 1) * (x * 2 - 2) + c2) + 2) / 2
  end,
  in_elastic = function(x)
    if x == 0 or x == 1 then return x end
    return -(2 ^ (10 * x - 10)) * sin((x * 10 - 10.75) * c4)
  end,
  out_elastic = function(x)
    if x == 0 or x == 1 then return x end
    return 2 ^ (-10 * x) * sin((x * 10 - 0.75) * c4) + 1
  end,
  in_out_elastic = function(x)
    local c5 = 2 * pi / 4.5
    if x == 0 or x == 1 then return x end
    return x < 0.5 and -(2 ^ (20 * x - 10) * sin((20 * x - 11.125) * c5)) / 2
                   or (2 ^ (-20 * x + 10) * sin((20 * x - 11.125) * c5)) / 2 + 1
  end,
  in_bounce = function(x) return 1 - bounce_out(1 - x) end,
  out_bounce = bounce_out,
  in_out_bounce = function(x)
    return x < 0.5 and (1 - bounce_out(1 - 2 * x)) / 2 or (1 + bounce_out(2 * x - 1)) / 2
  end,
}

describe('vs.ease', function()
  it('has the full Penner set, each going from 0 to 1', function()
    local n = 0
    for _, fam in ipairs { 'quad', 'cubic', 'quart', 'quint', 'sine', 'expo', 'circ', 'back', 'elastic', 'bounce' } do
      for _, kind in ipairs { 'in_', 'out_', 'in_out_' } do
        local f = vs.ease[kind .. fam]
        assert.is_function(f, kind .. fam)
        assert.is_true(math.abs(f(0)) < 1e-9, kind .. fam .. '(0)')
        assert.is_true(math.abs(f(1) - 1) < 1e-9, kind .. fam .. '(1)')
        n = n + 1
      end
    end
    assert.are.equal(30, n)
    assert.is_function(vs.ease.linear)
  end)

  it('matches the published formulas', function()
    for name, want in pairs(formulas) do
      local f = vs.ease[name]
      for i = 0, 40 do
        local x = i / 40
        assert.is_true(math.abs(f(x) - want(x)) < 1e-9,
                       string.format('%s(%g) = %.12g, want %.12g', name, x, f(x), want(x)))
      end
    end
  end)

  it('in_out is symmetric: f(x) + f(1 - x) = 1', function()
    for _, name in ipairs { 'in_out_quad', 'in_out_cubic', 'in_out_sine', 'in_out_expo', 'in_out_circ', 'in_out_bounce' } do
      for i = 0, 20 do
        local x = i / 20
        assert.is_true(math.abs(vs.ease[name](x) + vs.ease[name](1 - x) - 1) < 1e-9, name)
      end
    end
  end)
end)
