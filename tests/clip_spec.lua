local vs = require 'vstudio'
local helper = require 'helper'

-- A clip whose colour encodes its frame number: r = k % 256, g = k // 256.
local function counter(opts)
  opts = opts or {}
  local fps = opts.fps or 10
  return vs.clip{ size = opts.size or { 16, 12 }, fps = fps, duration = opts.duration or 10,
    draw = function(f, t)
      local k = math.floor(t * fps + 0.5)
      f:fill(k % 256, math.floor(k / 256), opts.b or 0)
    end }
end

-- The frame number a counter frame shows (at pixel x, y).
local function number_of(frame, x, y)
  local r, g = frame:get(x or 0, y or 0)
  return r + 256 * g
end

local function numbers(clip)
  local out = {}
  for k = 0, clip.frames - 1 do
    local f = vs.frame(clip.width, clip.height):fill(0, 0, 0)
    clip:render(k, f)
    out[#out + 1] = number_of(f)
  end
  return out
end

local function range(a, b, step)
  local t = {}
  for i = a, b, step or 1 do t[#t + 1] = i end
  return t
end

describe('clip time', function()
  it('keeps exact rational frame times: frame_at(4.2) on 10 fps is frame 42', function()
    local c = counter()
    assert.are.equal(100, c.frames)
    assert.are.equal(42, number_of(c:frame_at(4.2)))
    assert.are.equal(3, number_of(c:frame_at(0.3)))
    assert.are.equal(99, number_of(c:frame_at(9.99)))
  end)

  it('handles NTSC rates as exact fractions', function()
    local c = vs.clip{ size = { 4, 4 }, fps = '30000/1001', duration = 10, draw = function() end }
    assert.are.equal(30000, c.fps_num)
    assert.are.equal(1001, c.fps_den)
    assert.are.equal(300, c.frames)
    assert.are.equal(100, c:frame_index(100 * 1001 / 30000))
    -- written as a division it is the same rate; it prints as people say it
    local d = vs.clip{ size = { 4, 4 }, fps = 30000 / 1001, duration = 10, draw = function() end }
    assert.are.same({ 30000, 1001 }, { d.fps_num, d.fps_den })
    assert.are.equal('clip 4x4 29.97fps 10.01s', tostring(d))
    local e = vs.clip{ size = { 4, 4 }, fps = 12.5, duration = 1, draw = function() end }
    assert.are.same({ 25, 2 }, { e.fps_num, e.fps_den })
  end)

  it('refuses times outside the clip', function()
    assert.has_error(function() counter():frame_at(10) end, 'vstudio: frame_at: t=10 is outside the clip (0 <= t < 10 s)')
    assert.has_error(function() counter():frame_at(-0.1) end)
  end)

  it('speed(2) shows every other frame, speed(0.5) each frame twice', function()
    local c = counter{ duration = 1 }
    assert.are.same(range(0, 8, 2), numbers(c:speed(2)))
    assert.are.same({ 0, 0, 1, 1, 2, 2 }, { unpack(numbers(c:speed(0.5)), 1, 6) })
    assert.are.equal(20, c:speed(0.5).frames)
    assert.are.same({ 0, 1, 3, 4, 6, 7, 9 }, numbers(c:speed(1.5)))
  end)

  it('reverse() maps frame k to n-1-k', function()
    assert.are.same(range(9, 0, -1), numbers(counter{ duration = 1 }:reverse()))
  end)

  it('trim(t0, t1) keeps the frames in [t0, t1)', function()
    local c = counter()
    local t = c:trim(4.2, 4.7)
    assert.are.same({ 42, 43, 44, 45, 46 }, numbers(t))
    assert.are.equal(0.5, t.duration)
    assert.are.same(range(95, 99), numbers(c:trim(9.5)))
    assert.are.same({ 1, 2, 3 }, numbers(c:trim(0.1, 0.35)))
  end)

  it('loop(n) repeats', function()
    local c = counter{ duration = 0.3 }
    assert.are.same({ 0, 1, 2, 0, 1, 2, 0, 1, 2 }, numbers(c:loop(3)))
  end)

  it('ease(fn) remaps time through the easing and keeps both ends', function()
    local c = counter{ duration = 1.1 }  -- 11 frames: p = j / 10
    local e = numbers(c:ease(vs.ease.in_quad))
    local want = {}
    for j = 0, 10 do want[#want + 1] = math.floor((j / 10) ^ 2 * 10 + 0.5) end
    assert.are.same(want, e)
    assert.are.same(numbers(c:ease(vs.ease.in_quad)), numbers(c:ease('in_quad')))
    assert.are.same(range(0, 10), numbers(c:ease(vs.ease.linear)))
  end)

  it('freeze(t, s) holds the frame at t, then plays on', function()
    local c = counter{ duration = 0.5 }
    assert.are.same({ 0, 1, 2, 2, 2, 2, 3, 4 }, numbers(c:freeze(0.2, 0.3)))
  end)

  it('with_fps resamples by time and keeps the duration', function()
    local c = counter{ duration = 1 }
    local up = c:with_fps(25)
    assert.are.equal(25, up.frames)
    assert.are.equal(1, up.duration)
    assert.are.equal(4, number_of(up:frame_at(0.4)))
    assert.are.equal(4, number_of(up:frame_at(0.48)))
    assert.are.same({ 0, 2, 4, 6, 8 }, numbers(c:with_fps(5)))
    local ntsc = counter{ fps = 30 }:with_fps('30000/1001')
    assert.are.equal(300, ntsc.frames)   -- round(10 s * 29.97)
    assert.are.equal(299, number_of(ntsc:frame_at(ntsc.duration - 0.001)))
  end)

  it('a .. b and vs.sequence play clips one after the other', function()
    local a, b = counter{ duration = 0.3 }, counter{ duration = 0.5 }:trim(0.2)
    assert.are.same({ 0, 1, 2, 2, 3, 4 }, numbers(a .. b))
    local s = vs.sequence{ a, b, a }
    assert.are.same({ 0, 1, 2, 2, 3, 4, 0, 1, 2 }, numbers(s))
    assert.are.same(numbers(s), numbers(a .. b .. a))
    assert.are.equal(0.9, s.duration)
  end)

  it('chains of operations do not drift', function()
    local c = counter{ duration = 60 }
    local chain = c:speed(3):speed(1 / 3):trim(20, 40):loop(2):reverse():reverse()
    local n = numbers(chain)
    assert.are.equal(400, #n)
    for i = 0, 399 do
      assert.are.equal(200 + i % 200, n[i + 1])  -- speed(3):speed(1/3) is speed(1)
    end
    assert.are.equal(n[200], number_of(chain:frame_at(19.9)))
  end)

  it('fractional speeds that cancel leave the clip as it was, however often repeated', function()
    local c = counter{ duration = 10 }
    local chain = c
    for _ = 1, 20 do chain = chain:speed(1.1):speed(1 / 1.1) end
    assert.are.equal(100, chain.frames)
    assert.are.same(numbers(c), numbers(chain))
    assert.are.equal(42, number_of(chain:frame_at(4.2)))
    local fast = c:speed(1.5):speed(2)   -- one speed(3): frames 0, 3, 6, ...
    assert.are.equal(34, fast.frames)
    assert.are.equal(99, number_of(fast:frame_at(fast.duration - 0.01)))
    assert.are.equal(30, number_of(fast:frame_at(1)))
  end)
end)

describe('clip space', function()
  it('crop takes the rectangle', function()
    local c = vs.clip{ size = { 20, 10 }, fps = 10, duration = 1, draw = function(f)
      f:fill(0, 0, 0); f:set(5, 3, 200, 100, 50)
    end }
    local k = c:crop{ x = 5, y = 3, w = 4, h = 2 }
    assert.are.same({ 4, 2 }, k.size)
    local f = k:frame_at(0)
    assert.are.same({ 200, 100, 50, 255 }, { f:get(0, 0) })
    assert.are.same({ 0, 0, 0, 255 }, { f:get(1, 0) })
  end)

  it('resize scales with the aspect ratio and keeps flat colours exact', function()
    local c = counter{ size = { 64, 48 }, b = 77 }
    local r = c:resize{ w = 32 }
    assert.are.same({ 32, 24 }, r.size)
    assert.are.same({ 42 % 256, 0, 77, 255 }, { r:frame_at(4.2):get(10, 10) })
    assert.are.same({ 128, 96 }, c:resize(2).size)
    assert.are.same({ 7, 77 }, { select(1, c:resize{ 7, 77 }:frame_at(0).width), c:resize{ 7, 77 }.height })
  end)

  it('overlay composites at a position, opaque and at 50% opacity', function()
    local bg = vs.color{ 0, 0, 200, size = { 40, 30 }, duration = 1, fps = 10 }
    local red = vs.color{ 255, 0, 0, size = { 10, 10 }, duration = 1, fps = 10 }
    local o = vs.overlay{ bg, red:at(5, 6), red:opacity(0.5):at(25, 15) }
    assert.are.same({ 40, 30 }, o.size)
    assert.are.equal(10, o.frames)
    local f = o:frame_at(0.5)
    assert.are.same({ 255, 0, 0, 255 }, { f:get(5, 6) })
    assert.are.same({ 255, 0, 0, 255 }, { f:get(14, 15) })
    assert.are.same({ 0, 0, 200, 255 }, { f:get(4, 6) })
    assert.are.same({ 0, 0, 200, 255 }, { f:get(15, 16) })
    local r, g, b, a = f:get(30, 20)
    assert.is_true(math.abs(r - 128) <= 1 and g == 0 and math.abs(b - 100) <= 1 and a == 255)
    assert.are.same({ 0, 0, 200, 255 }, { f:get(24, 20) })
  end)

  it('overlay moves a clip by a function of t and shows short clips while they last', function()
    local bg = vs.color{ 0, 0, 0, size = { 40, 10 }, duration = 1, fps = 10 }
    local dot = vs.color{ 255, 255, 255, size = { 1, 1 }, duration = 0.5, fps = 10 }
    local o = vs.overlay{ bg, dot:at(function(t) return t * 20 end, 'center') }
    for k = 0, 4 do
      local f = o:frame_at(k / 10)
      assert.are.same({ 255, 255, 255, 255 }, { f:get(2 * k, 4) })
    end
    local f = o:frame_at(0.7)
    for x = 0, 39 do assert.are.same({ 0, 0, 0, 255 }, { f:get(x, 4) }) end
  end)

  it('delay starts a clip later in an overlay', function()
    local bg = vs.color{ 0, 0, 0, size = { 4, 4 }, duration = 1, fps = 10 }
    local w = vs.color{ 200, 200, 200, size = { 2, 2 }, duration = 0.3, fps = 10 }:delay(0.5)
    assert.are.equal(8, w.frames)
    local o = vs.overlay{ bg, w:at(1, 1) }
    assert.are.same({ 0, 0, 0, 255 }, { o:frame_at(0.4):get(1, 1) })
    assert.are.same({ 200, 200, 200, 255 }, { o:frame_at(0.5):get(1, 1) })
    assert.are.same({ 200, 200, 200, 255 }, { o:frame_at(0.7):get(2, 2) })
    assert.are.same({ 0, 0, 0, 255 }, { o:frame_at(0.8):get(1, 1) })
  end)

  it('opacity may be a function of t', function()
    local bg = vs.color{ 0, 0, 0, size = { 4, 4 }, duration = 1, fps = 10 }
    local w = vs.color{ 200, 200, 200, size = { 4, 4 }, duration = 1, fps = 10 }
    local o = vs.overlay{ bg, w:opacity(function(t) return t end) }
    assert.are.equal(0, o:frame_at(0):get(0, 0))
    assert.is_true(math.abs(o:frame_at(0.5):get(0, 0) - 100) <= 1)
  end)

  it('crossfade overlaps and is 50/50 at the midpoint', function()
    local a = vs.color{ 200, 0, 0, size = { 8, 8 }, duration = 2, fps = 10 }
    local b = vs.color{ 0, 0, 100, size = { 8, 8 }, duration = 2, fps = 10 }
    local x = vs.crossfade(a, b, 1)
    assert.are.equal(30, x.frames)
    assert.are.same({ 200, 0, 0, 255 }, { x:frame_at(0.95):get(1, 1) })
    assert.are.same({ 200, 0, 0, 255 }, { x:frame_at(1.0):get(1, 1) })
    assert.are.same({ 100, 0, 50, 255 }, { x:frame_at(1.5):get(1, 1) })
    assert.are.same({ 0, 0, 100, 255 }, { x:frame_at(2.0):get(1, 1) })
    local s = vs.sequence{ a, b, a, crossfade = 0.5 }
    assert.are.equal(50, s.frames)
  end)

  it('crossfade keeps frame numbers of both sides', function()
    local a, b = counter{ duration = 1 }, counter{ duration = 1, b = 1 }
    local x = vs.crossfade(a, b, 0.4)
    assert.are.same({ 0, 1, 2, 3, 4, 5 }, { unpack(numbers(x), 1, 6) })
    assert.are.same({ 4, 5, 6, 7, 8, 9 }, { unpack(numbers(x), 11, 16) })
  end)

  it('map edits each frame with its time', function()
    local m = counter{ duration = 1 }:map(function(f, t) f:set(0, 0, 0, math.floor(t * 100 + 0.5), 0) end)
    assert.are.same({ 0, 30, 0, 255 }, { m:frame_at(0.3):get(0, 0) })
    assert.are.equal(3, number_of(m:frame_at(0.3), 1, 0))
  end)
end)

describe('clip determinism', function()
  -- What the parallel engine relies on: a rebuilt clip renders any frame, in
  -- any order, to the same pixels (no state carried between frames).
  local function build()
    local a = counter{ size = { 32, 24 }, duration = 2 }
    local b = counter{ size = { 64, 48 }, duration = 2, b = 50 }:resize{ 32, 24 }:reverse()
    local t = vs.text('Hi', { size = 12, duration = 2, fps = 10 })
    local seq = vs.crossfade(a:speed(1.5), b:loop(2), 0.5)
    return vs.overlay{ seq, t:opacity(function(x) return x / 4 end):at(function(x) return x * 3 end, 'center'),
                       a:crop{ x = 2, y = 2, w = 8, h = 8 }:at(20, 2) }
  end
  local function bytes(c, k)
    local f = vs.frame(c.width, c.height):fill(0, 0, 0)
    c:render(k, f)
    return helper.frame_bytes(f)
  end

  it('renders the same frames in any order and from independent rebuilds', function()
    local one, two = build(), build()
    local ref = {}
    for k = 0, one.frames - 1 do ref[k] = bytes(one, k) end
    local order = {}
    for k = 0, one.frames - 1 do order[#order + 1] = (k * 11) % one.frames end -- 49 frames: a permutation
    for _, k in ipairs(order) do
      assert.are.equal(ref[k], bytes(k % 2 == 0 and two or one, k))
    end
  end)
end)

describe('clip sources', function()
  local dir
  setup(function() dir = helper.tmpdir() end)
  teardown(helper.cleanup)

  it('vs.color fills with the colour and alpha', function()
    local c = vs.color{ 1, 2, 3, 4, size = { 5, 5 }, duration = 0.5, fps = 24 }
    assert.are.equal(12, c.frames)
    assert.are.same({ 1, 2, 3, 4 }, { c:frame_at(0.1):get(4, 4) })
  end)

  it('vs.image and vs.images read PNGs, naturally sorted', function()
    for _, k in ipairs { 1, 2, 10 } do
      vs.frame(6, 4):fill(k, 0, 0):save(dir .. '/f' .. k .. '.png')
    end
    local seq = vs.images(dir, { fps = 5 })
    assert.are.equal(3, seq.frames)
    assert.are.same({ 1, 2, 10 }, numbers(seq))
    assert.are.same({ 1, 2 }, numbers(vs.images(dir .. '/f?.png', { fps = 5 })))
    assert.are.same({ 1, 10, 2 }, numbers(vs.images(dir, { sort = 'name' })))
    assert.are.same({ 1, 2, 10 }, numbers(vs.images(dir, { sort = 'f([0-9]+)\\.png' })))
    assert.are.same({ 2, 10, 1 }, numbers(vs.images(dir, { sort = function(a, b) return a > b end })))
    local ok, err = pcall(function() vs.images(dir .. '/missing') end)
    assert.matches('clip_spec.lua:%d+: vstudio: images: .*missing', err)
    local img = vs.image(dir .. '/f2.png', { duration = 2, fps = 10 })
    assert.are.equal(20, img.frames)
    assert.are.equal(2, number_of(img:frame_at(1.5)))
  end)

  it('vs.images refuses an image of another size, naming it', function()
    local d = dir .. '/mixed'
    os.execute('mkdir -p ' .. d)
    vs.frame(6, 4):fill(1, 0, 0):save(d .. '/a1.png')
    vs.frame(5, 4):fill(1, 0, 0):save(d .. '/a2.png')
    local ok, err = pcall(function() vs.images(d) end)
    assert.is_false(ok)
    assert.matches('clip_spec.lua:%d+: vstudio: images: .*a2.png is 5x4, the first image is 6x4', err)
    local j = dir .. '/jpegs'
    os.execute('mkdir -p ' .. j)
    vs.frame(6, 4):fill(1, 0, 0):save(j .. '/b1.jpg')
    vs.frame(6, 3):fill(1, 0, 0):save(j .. '/b2.jpg')
    ok, err = pcall(function() vs.images(j) end)
    assert.matches('clip_spec.lua:%d+: vstudio: images: .*b2.jpg is 6x3, the first image is 6x4', err)
  end)

  it('operations work on video clips (vs.video) frame-exactly', function()
    local path = dir .. '/count.mkv'
    local w = vs.write(path, { fps = 10, codec = 'ffv1', pix_fmt = 'bgr0' })
    for k = 0, 19 do w:push(vs.frame(32, 24):fill(k * 10, 255 - k * 10, 7)) end
    w:close()
    local v = vs.video(path)
    assert.are.equal(20, v.frames)
    local function red(c, t) return (c:frame_at(t):get(5, 5)) end
    assert.are.equal(190, red(v:reverse(), 0))
    assert.are.equal(120, red(v:trim(1.2, 1.6), 0))
    assert.are.equal(80, red(v:speed(2), 0.4))
    local o = vs.overlay{ vs.color{ 0, 0, 0, size = { 64, 48 }, fps = 10, duration = 2 }, v:resize{ 16, 12 }:at(8, 8) }
    assert.are.same({ 150, 105, 7, 255 }, { o:frame_at(1.5):get(10, 10) })
    assert.are.same({ 0, 0, 0, 255 }, { o:frame_at(1.5):get(30, 30) })
  end)

  it('vs.text is a transparent clip of the measured size', function()
    local t = vs.text('Hi!', { size = 24, color = { 255, 255, 0 }, duration = 1 })
    local w, h = vs.text_size('Hi!', { size = 24 })
    assert.are.same({ w, h }, t.size)
    assert.are.equal(30, t.frames)
    local f = t:frame_at(0)
    local solid, clear = 0, 0
    for y = 0, h - 1 do
      for x = 0, w - 1 do
        local r, g, b, a = f:get(x, y)
        if a == 255 then
          solid = solid + 1
          assert.are.same({ 255, 255, 0 }, { r, g, b })
        elseif a == 0 then clear = clear + 1 end
      end
    end
    assert.is_true(solid > 10 and clear > 10)
  end)
end)

describe('clip bad input', function()
  local function err_of(fn)
    local ok, e = pcall(fn)
    assert.is_false(ok)
    return e
  end

  it('points at the caller line with the allowed range', function()
    local c = counter()
    assert.matches('clip_spec.lua:%d+: vstudio: speed: factor must be > 0', err_of(function() c:speed(0) end))
    assert.matches('clip_spec.lua:%d+: vstudio: speed: factor must be > 0', err_of(function() c:speed(-1) end))
    assert.matches('clip_spec.lua:%d+: vstudio: trim: %(5, 11%) is outside the clip or empty; need 0 <= t0 < t1 <= 10',
                   err_of(function() c:trim(5, 11) end))
    assert.matches('vstudio: trim:', err_of(function() c:trim(-1, 2) end))
    assert.matches('vstudio: trim:', err_of(function() c:trim(3, 3) end))
    assert.matches('clip_spec.lua:%d+: vstudio: clip: duration must be a positive number of seconds, got %-1',
                   err_of(function() vs.clip{ size = { 2, 2 }, duration = -1, draw = function() end } end))
    assert.matches('vstudio: clip: duration must be a positive', err_of(function()
      vs.clip{ size = { 2, 2 }, duration = 0, draw = function() end } end))
    assert.matches('vstudio: loop: count must be > 0', err_of(function() c:loop(0) end))
    assert.matches('vstudio: freeze: t=12 is outside the clip %(0..10 s%)', err_of(function() c:freeze(12, 1) end))
    assert.matches('vstudio: freeze: seconds must be at least one frame', err_of(function() c:freeze(1, 0) end))
    assert.matches('vstudio: crop: {x=10, y=0, w=10, h=12} is outside the 16x12 clip',
                   err_of(function() c:crop{ x = 10, w = 10 } end))
    assert.matches('clip_spec.lua:%d+: vstudio: ease: easing must be a function', err_of(function() c:ease('nope') end))
    assert.matches('vstudio: opacity: must be in %[0, 1%], got 2', err_of(function() c:opacity(2) end))
  end)

  it('refuses mismatched rates and sizes in compositions', function()
    local a, b = counter{ fps = 10 }, counter{ fps = 25 }
    assert.matches('clip_spec.lua:%d+: vstudio: overlay: clip 2 is 25 fps, the bottom is 10 fps',
                   err_of(function() vs.overlay{ a, b } end))
    assert.matches('clip_spec.lua:%d+: vstudio: a .. b: clip 2 is 25 fps, the first is 10 fps',
                   err_of(function() return a .. b end))
    assert.matches('vstudio: sequence: clip 2 is 8x8, the first is 16x12',
                   err_of(function() vs.sequence{ a, counter{ size = { 8, 8 } } } end))
    assert.matches('vstudio: crossfade: clips are 10 and 25 fps', err_of(function() vs.crossfade(a, b, 1) end))
    assert.matches('clip_spec.lua:%d+: vstudio: crossfade: seconds must be in %(0, 10%]',
                   err_of(function() vs.crossfade(a, a, 11) end))
  end)

  it('refuses durations and frame counts past the limit, naming it', function()
    local draw = function() end
    local limit = 'is longer than the limit of 2147483647 frames'
    -- 1e12 s rendered until killed; past 3e17 s the count went negative in C
    for _, d in ipairs { 1e12, 3e17, 1e300 } do
      local e = err_of(function() vs.clip{ size = { 2, 2 }, duration = d, draw = draw } end)
      assert.matches('clip_spec.lua:%d+: vstudio: a clip of [%d.e+]+ frames', e)
      assert.matches(limit, e, 1, true)
      assert.matches(limit, err_of(function() vs.color{ 0, 0, 0, size = { 2, 2 }, duration = d } end), 1, true)
    end
    local c = counter()
    assert.matches('clip_spec.lua:%d+: vstudio: a clip of 100000000000 frames', err_of(function() c:loop(1e9) end))
    assert.matches(limit, err_of(function() c:speed(1e-12) end), 1, true)
    assert.matches(limit, err_of(function() c:freeze(1, 1e12) end), 1, true)
    assert.matches(limit, err_of(function() c:delay(1e12) end), 1, true)
    -- the largest count is still a clip
    assert.are.equal(2 ^ 31 - 1, vs.clip{ size = { 2, 2 }, fps = 1, duration = 2 ^ 31 - 1, draw = draw }.frames)
  end)

  it('says the fps limit it applies', function()
    assert.matches('clip_spec.lua:%d+: vstudio: fps must be above 0 and below 1000000, got 1000000000',
                   err_of(function() vs.clip{ size = { 2, 2 }, fps = 1e9, duration = 1, draw = function() end } end))
  end)

  it('refuses sizes that do not fit a frame instead of truncating them', function()
    local draw = function() end
    for _, size in ipairs { { 2 ^ 32 + 64, 2 }, { 2, 1e10 }, { math.huge, 2 }, { 0 / 0, 2 }, { 40000, 2 } } do
      assert.matches('clip_spec.lua:%d+: vstudio: clip: [a-z]+ must be an integer in 1..32768, got',
                     err_of(function() vs.clip{ size = size, duration = 1, draw = draw } end))
    end
    assert.matches('vstudio: color: width must be an integer in 1..32768, got 4294967360',
                   err_of(function() vs.color{ 0, 0, 0, size = { 2 ^ 32 + 64, 2 }, duration = 1 } end))
    assert.matches('vstudio: resize: ', err_of(function() counter():resize{ 2 ^ 32 + 64, 2 } end))
    assert.matches('vstudio: crop: ', err_of(function() counter():crop{ x = 0, y = 0, w = 2 ^ 32 + 4, h = 2 } end))
  end)

  it('names a missing image or font', function()
    assert.matches('clip_spec.lua:%d+: vstudio: image: .*nope.png', err_of(function() vs.image('/nonexistent/nope.png') end))
    assert.matches('clip_spec.lua:%d+: vstudio: text: font not found: /no/such.ttf',
                   err_of(function() vs.text('x', { font = '/no/such.ttf' }) end))
  end)
end)
