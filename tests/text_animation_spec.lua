-- Animation helpers: clip:fade_in / clip:fade_out and vs.text's reveal.
local vs = require 'vstudio'
local helper = require 'helper'

local function red_clip() return vs.color{ 200, 0, 0, size = { 8, 8 }, fps = 10, duration = 2 } end

local function ink(f)
  local n = 0
  for y = 0, f.height - 1 do for x = 0, f.width - 1 do n = n + select(4, f:get(x, y)) end end
  return n
end

describe('fades', function()
  it('fade_in goes from transparent to the picture over its seconds', function()
    local c = red_clip():fade_in(1)
    assert.are.equal(20, c.frames)
    assert.are.same({ 200, 0, 0, 0 }, { c:frame(0):get(4, 4) })
    local a5 = select(4, c:frame(5):get(4, 4))
    assert.is_true(math.abs(a5 - 127.5) <= 1, 'half way: ' .. a5)
    assert.are.same({ 200, 0, 0, 255 }, { c:frame(10):get(4, 4) })
    assert.are.same({ 200, 0, 0, 255 }, { c:frame(19):get(4, 4) })
  end)

  it('fade_out goes to black (alpha kept) or to transparent', function()
    local c = red_clip():fade_out(0.5, 'black')
    assert.are.same({ 200, 0, 0, 255 }, { c:frame(14):get(4, 4) })
    assert.are.same({ 0, 0, 0, 255 }, { c:frame(19):get(4, 4) })
    local r = c:frame(17):get(4, 4)
    assert.is_true(math.abs(r - 200 * 2 / 5) <= 1, 'two fifths: ' .. r)
    local t = red_clip():fade_out(0.5)
    assert.are.equal(0, select(4, t:frame(19):get(4, 4)))
    assert.has_error(function() red_clip():fade_in(3) end,
                     'vstudio: fade_in: seconds must be in (0, 2] (one frame up to the clip), got 3')
  end)

  it('a transparent fade renders from black in a video', function()
    local dir = helper.tmpdir()
    helper.write_file(dir .. '/f.lua', [[
      local vs = require 'vstudio'
      return vs.color{ 250, 250, 250, size = { 64, 48 }, fps = 10, duration = 2 }:fade_in(1)
    ]])
    local _, err, rc = helper.vstudio('run ' .. helper.q(dir .. '/f.lua') .. ' -o ' .. helper.q(dir .. '/f.mp4'))
    assert.are.equal(0, rc, err)
    local frames = helper.ffmpeg_rgba_frames(dir .. '/f.mp4', 64, 48)
    local function grey(k) return frames[k + 1]:byte(64 * 4 * 24 + 32 * 4 + 1) end
    assert.is_true(grey(0) < 8, 'first frame black: ' .. grey(0))
    assert.is_true(math.abs(grey(5) - 125) < 12, 'half way grey: ' .. grey(5))
    assert.is_true(grey(15) > 240)
    helper.cleanup()
  end)
end)

describe('vs.text reveal', function()
  local text = 'Type this out'

  it('shows one more character at a time, in the full text\'s layout, then all of it', function()
    local full = vs.text(text, { size = 20, duration = 2, fps = 10 }):frame(0)
    local t = vs.text(text, { size = 20, duration = 2, fps = 10, reveal = 'chars', reveal_time = 1.1 })
    assert.are.same({ full.width, full.height }, t.size)
    assert.are.equal(0, ink(t:frame(0)), 'nothing at first')
    local prev = 0
    for k = 1, 10 do
      local f = t:frame(k)
      local n = ink(f)
      assert.is_true(n >= prev, 'frame ' .. k .. ' shows no less')
      -- what is shown is drawn exactly where the full text has it
      for y = 0, f.height - 1 do
        for x = 0, f.width - 1 do
          local a = select(4, f:get(x, y))
          if a > 0 then assert.are.equal(select(4, full:get(x, y)), a) end
        end
      end
      prev = n
    end
    assert.is_true(prev < ink(full))
    assert.are.equal(helper.frame_bytes(full), helper.frame_bytes(t:frame(11)))
    assert.are.equal(helper.frame_bytes(full), helper.frame_bytes(t:frame(19)))
    -- 11 characters without the spaces over 1.1 s: one a frame
    local distinct, last = 0, nil
    for k = 0, 11 do
      local b = helper.frame_bytes(t:frame(k))
      if b ~= last then distinct = distinct + 1 end
      last = b
    end
    assert.are.equal(12, distinct)
  end)

  it('reveals whole words with reveal = "words" (by default over half the duration)', function()
    local t = vs.text(text, { size = 20, duration = 3, fps = 10, reveal = 'words' })
    local states, last = {}, nil
    for k = 0, 29 do
      local b = helper.frame_bytes(t:frame(k))
      if b ~= last then states[#states + 1] = k end
      last = b
    end
    assert.are.same({ 0, 5, 10, 15 }, states) -- none, "Type", "Type this", all: three words over 1.5 s
    assert.has_error(function() vs.text('x', { reveal = 'letters' }) end,
                     'vstudio: text: reveal must be "chars" or "words", got letters')
  end)
end)
