local vs = require 'vstudio'

-- An act whose frame shows the state: r = x, g = y (0..200), b = number of scenes applied.
local function make(scenes, fps)
  return vs.act{
    size = { 4, 4 }, fps = fps or 10,
    state = function() return { x = 0, y = 0, n = 0 } end,
    scenes = scenes,
    render = function(s, frame) frame:fill(math.floor(s.x + 0.5), math.floor(s.y + 0.5), s.n) end,
  }
end

local move_x = vs.scene{ duration = 1, apply = function(s, p) s.x = 200 * p; s.n = s.n + 1 end }
local move_y = vs.scene{ duration = 0.5, apply = function(s, p) s.y = 200 * p; s.n = s.n + 1 end }

local function px(act, k)
  local f = vs.frame(4, 4):fill(0, 0, 0)
  act:render(k, f)
  local r, g, b = f:get(0, 0)
  return { r, g, b }
end

describe('vs.act', function()
  it('lasts the sum of its scenes and plays them in order', function()
    local a = make{ move_x, move_y }
    assert.are.equal(15, a.frames)
    assert.are.equal(1.5, a.duration)
    assert.are.same({ 0, 0, 1 }, px(a, 0))
    assert.are.same({ 100, 0, 1 }, px(a, 5))
    assert.are.same({ 180, 0, 1 }, px(a, 9))
    -- earlier scenes are applied at p = 1 before the current one
    assert.are.same({ 200, 0, 2 }, px(a, 10))
    assert.are.same({ 200, 80, 2 }, px(a, 12))
  end)

  it('renders any frame alone, in any order, the same', function()
    local a = make{ move_x, move_y }
    local fwd = {}
    for k = 0, a.frames - 1 do fwd[k] = px(a, k) end
    for k = a.frames - 1, 0, -1 do assert.are.same(fwd[k], px(a, k)) end
    local r, g, b = a:frame_at(1.2):get(0, 0)
    assert.are.same(fwd[12], { r, g, b })
  end)

  it('scenes take time operations: reverse, speed, ease, loop', function()
    local a = make{ move_x:reverse() }
    assert.are.same({ 200, 0, 1 }, px(a, 0))
    assert.are.same({ 20, 0, 1 }, px(a, 9))
    local s = make{ move_x:speed(2) }
    assert.are.equal(5, s.frames)
    assert.are.same({ 160, 0, 1 }, px(s, 4))
    local e = make{ move_x:ease(vs.ease.in_quad) }
    assert.are.same({ math.floor(200 * 0.25 + 0.5), 0, 1 }, px(e, 5))
    assert.are.same(px(e, 3), px(make{ move_x:ease('in_quad') }, 3))
    local l = make{ move_x:loop(2) }
    assert.are.equal(20, l.frames)
    assert.are.same(px(l, 3), px(l, 13))
    -- a reversed scene before the current one ends at its start
    assert.are.same({ 0, 0, 2 }, px(make{ move_x:reverse(), move_y }, 10))
  end)

  it('scenes take trim and freeze as clips do', function()
    local t = make{ move_x:trim(0.2, 0.7) }     -- x goes 40 .. 140 over 0.5 s
    assert.are.equal(5, t.frames)
    assert.are.same({ 40, 0, 1 }, px(t, 0))
    assert.are.same({ 120, 0, 1 }, px(t, 4))
    assert.are.same({ 60, 0, 1 }, px(make{ move_x:trim(0.3) }, 0))
    local f = make{ move_x:freeze(0.5, 0.3) }   -- 0.5 s of motion, 0.3 s held at x = 100, then on
    assert.are.equal(13, f.frames)
    assert.are.same({ 80, 0, 1 }, px(f, 4))
    assert.are.same({ 100, 0, 1 }, px(f, 5))
    assert.are.same({ 100, 0, 1 }, px(f, 7))
    assert.are.same({ 100, 0, 1 }, px(f, 8))
    assert.are.same({ 120, 0, 1 }, px(f, 9))
    assert.has_error(function() move_x:trim(0.5, 0.2) end,
      'vstudio: scene:trim: (0.5, 0.2) is outside the scene or empty; need 0 <= t0 < t1 <= 1')
    assert.has_error(function() move_x:freeze(2, 1) end, 'vstudio: scene:freeze: t=2 is outside the scene (0..1 s)')
  end)

  it('places scene boundaries on the running total, so they do not drift', function()
    local third = vs.scene{ duration = 1 / 3, apply = function(s, p) s.n = s.n + 1 end }
    local scenes = {}
    for i = 1, 30 do scenes[i] = third end
    local a = make(scenes, 30)
    assert.are.equal(300, a.frames)
    assert.are.same({ 0, 0, 30 }, px(a, 299))
    assert.are.same({ 0, 0, 2 }, px(a, 10))
    assert.are.same({ 0, 0, 1 }, px(a, 9))
  end)

  it('refuses bad scenes and acts at the caller line', function()
    local ok, err = pcall(vs.scene, { duration = 0, apply = function() end })
    assert.is_false(ok)
    assert.matches('vstudio: scene: duration must be a positive number, got 0', err)
    ok, err = pcall(function() local s = vs.scene{ duration = -1, apply = function() end }; return s end)
    assert.matches('act_spec.lua:%d+: vstudio: scene: duration must be a positive number, got %-1', err)
    ok, err = pcall(function() return make{ move_x, 'x' } end)
    assert.matches('vstudio: act: scene 2 is not a vs.scene', err)
    ok, err = pcall(function() local s = move_x:speed(0); return s end)
    assert.matches('act_spec.lua:%d+: vstudio: scene:speed: factor must be a positive number, got 0', err)
    ok, err = pcall(function()
      local a = vs.act{ size = { 0, 4 }, scenes = { move_x }, render = function() end }
      return a
    end)
    assert.matches('act_spec.lua:%d+: vstudio: act: width must be an integer in 1..32768, got 0', err)
  end)
end)
