-- Text layout: wrapping, alignment around x, the box's anchor, spacing.
local vs = require 'vstudio'
local helper = require 'helper'

local ink_box = helper.ink_box

-- Each line's text and width, from the glyphs' clusters and positions.
local function lines_of(str, opts)
  local lines = {}
  for _, g in ipairs(vs.text_glyphs(str, opts)) do
    local l = lines[g.line + 1] or { first = math.huge, last = -1, left = math.huge, right = -math.huge }
    lines[g.line + 1] = l
    l.first, l.last = math.min(l.first, g.cluster), math.max(l.last, g.cluster)
    l.left, l.right = math.min(l.left, g.x), math.max(l.right, g.x + g.advance)
  end
  return lines
end

describe('text layout', function()
  local words = 'the quick brown fox jumps over the lazy dog again'

  it('wraps at spaces, greedily, within the width', function()
    local opts = { size = 20, width = 150 }
    local w, h, n = vs.text_size(words, opts)
    local lh = select(2, vs.text_size('x', { size = 20 }))
    assert.is_true(n >= 3, 'lines: ' .. n)
    assert.are.equal(n * lh, h)
    assert.is_true(w <= 150, 'box ' .. w)
    local lines = lines_of(words, opts)
    assert.are.equal(n, #lines)
    local widest = 0
    for i, l in ipairs(lines) do
      local text = words:sub(l.first + 1, l.last + 1)
      assert.is_nil(text:find('^ ') or text:find(' $'), 'no spaces at the ends of "' .. text .. '"')
      local lw = vs.text_size(text, { size = 20 })
      assert.is_true(lw <= 150, text .. ' fits: ' .. lw)
      widest = math.max(widest, lw)
      if i < #lines then -- greedy: the next word would not have fitted
        local next_word = words:sub(l.last + 2):match('^ *(%S+)')
        assert.is_true(vs.text_size(text .. ' ' .. next_word, { size = 20 }) > 150, text .. ' + ' .. next_word)
        assert.are.equal(' ', words:sub(l.last + 2, l.last + 2), 'broke at a space after "' .. text .. '"')
      end
    end
    assert.is_true(math.abs(widest - w) <= 1, 'box is the widest line: ' .. widest .. ' vs ' .. w)
    -- without width, one line; "\n" still breaks
    assert.are.equal(1, select(3, vs.text_size(words, { size = 20 })))
    assert.are.equal(n + 1, select(3, vs.text_size('first\n' .. words, opts)))
  end)

  it('breaks between Han and kana characters, and a word wider than the line between clusters', function()
    local cjk = '日本語のテキストを折り返します'
    local lines = lines_of(cjk, { size = 20, width = 70 })
    assert.is_true(#lines >= 3, 'cjk lines ' .. #lines)
    for _, l in ipairs(lines) do assert.is_true(l.right - l.left <= 70.01, 'cjk line ' .. (l.right - l.left)) end
    local long = string.rep('m', 30)
    local ll = lines_of(long, { size = 20, width = 100 })
    assert.is_true(#ll >= 4)
    for i, l in ipairs(ll) do
      assert.is_true(l.right - l.left <= 100.01)
      if i > 1 then assert.are.equal(ll[i - 1].last + 1, l.first, 'no character lost') end
    end
  end)

  it('centres and right-aligns every wrapped line on x', function()
    for _, align in ipairs { 'center', 'right' } do
      local f = vs.frame(400, 120):fill(0, 0, 0)
      local x = 230
      f:text('one two three four five six', { x = x, y = 0, size = 20, width = 120, align = align })
      local lh = select(2, vs.text_size('x', { size = 20 }))
      local n = select(3, vs.text_size('one two three four five six', { size = 20, width = 120 }))
      assert.is_true(n >= 2)
      for line = 0, n - 1 do
        local minx, maxx = ink_box(f, line * lh, (line + 1) * lh - 1)
        assert.is_true(maxx > 0, 'line ' .. line .. ' drawn')
        if align == 'center' then
          assert.is_true(math.abs((minx + maxx + 1) / 2 - x) <= 2, align .. ' line ' .. line .. ': ' .. minx .. '..' .. maxx)
        else
          assert.is_true(math.abs(maxx + 1 - x) <= 3, align .. ' line ' .. line .. ' ends at ' .. maxx)
        end
      end
    end
  end)

  it('places the box by anchor (x) and valign (y), independently of the lines\' alignment', function()
    local w, h = vs.text_size('Box\nplacement', { size = 20 })
    local f = vs.frame(300, 200):fill(0, 0, 0)
    f:text('Box\nplacement', { x = 150, y = 120, size = 20, anchor = 'center', valign = 'bottom' })
    local minx, maxx, miny, maxy = ink_box(f)
    assert.is_true(minx >= 150 - w / 2 - 1 and maxx <= 150 + w / 2 + 1, 'centred box ' .. minx .. '..' .. maxx)
    assert.is_true(maxy < 120 and miny >= 120 - h, 'box ends at y: ' .. miny .. '..' .. maxy)
    -- lines stay left-aligned: both lines start at the box's left edge
    local l1 = ink_box(f, 120 - h, 120 - h / 2 - 1)
    local l2 = ink_box(f, 120 - h / 2, 119)
    assert.is_true(math.abs(l1 - l2) <= 2, 'left-aligned lines: ' .. l1 .. ', ' .. l2)
    local g = vs.frame(300, 200):fill(0, 0, 0)
    g:text('Mid', { x = 10, y = 100, size = 20, valign = 'middle' })
    local _, _, gy0, gy1 = ink_box(g)
    local _, mh = vs.text_size('Mid', { size = 20 })
    assert.is_true(gy0 >= 100 - mh / 2 and gy1 < 100 + mh / 2)
    assert.has_error(function() g:text('x', { valign = 'up' }) end,
                     'vstudio: text: valign must be "top", "middle" or "bottom", got up')
  end)

  it('spaces lines and letters', function()
    local _, h1 = vs.text_size('a\nb\nc', { size = 20 })
    local _, h2 = vs.text_size('a\nb\nc', { size = 20, line_spacing = 2 })
    local lh = select(2, vs.text_size('a', { size = 20 }))
    assert.are.equal(3 * lh, h1)
    assert.are.equal(lh + 2 * 2 * lh, h2)
    local g = vs.text_glyphs('a\nb', { size = 20, line_spacing = 1.5 })
    assert.is_true(math.abs(g[2].y - g[1].y - 1.5 * lh) <= 1)
    local w0 = vs.text_size('spacing', { size = 20 })
    local w1 = vs.text_size('spacing', { size = 20, letter_spacing = 4 })
    assert.is_true(math.abs(w1 - w0 - 6 * 4) <= 1, 'six gaps of 4 px: ' .. w0 .. ' -> ' .. w1)
  end)
end)
