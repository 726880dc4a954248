-- Shaping, bidi ordering, fonts by name and fallback (src/text_layout.c,
-- src/font.c), against HarfBuzz's own command line, hb-shape.
local vs = require 'vstudio'
local helper = require 'helper'

local SANS = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'
local DEVA = '/usr/share/fonts/truetype/lohit-devanagari/Lohit-Devanagari.ttf'

-- hb-shape's glyphs at a scale of size x 64 (so its positions are our 26.6 units)
local function hb_shape(font, text, size, extra)
  local out, err, rc = helper.sh(string.format('hb-shape --no-glyph-names --utf8-clusters --output-format=json ' ..
                                               '--font-size=%d %s %s %s', size * 64, extra or '', helper.q(font),
                                               helper.q(text)))
  assert.are.equal(0, rc, err)
  local glyphs = {}
  for g, cl, dx, dy, ax in out:gmatch('{"g":(%d+),"cl":(%d+),"dx":(%-?%d+),"dy":(%-?%d+),"ax":(%-?%d+)') do
    glyphs[#glyphs + 1] = { glyph = tonumber(g), cluster = tonumber(cl), dx = tonumber(dx), dy = tonumber(dy),
                            advance = tonumber(ax) }
  end
  assert.is_true(#glyphs > 0, 'hb-shape gave glyphs for ' .. text)
  return glyphs
end

local function assert_shaped_like_hb(font_path, text, size, extra)
  local want = hb_shape(font_path, text, size, extra)
  local got = vs.text_glyphs(text, { font = font_path, size = size })
  assert.are.equal(#want, #got, 'glyph count of ' .. text)
  local pen = 0
  for i, w in ipairs(want) do
    local g = got[i]
    assert.are.equal(w.glyph, g.glyph, text .. ': glyph ' .. i)
    assert.are.equal(w.cluster, g.cluster, text .. ': cluster of glyph ' .. i)
    assert.are.equal(w.advance, g.advance * 64, text .. ': advance of glyph ' .. i)
    assert.are.equal(pen + w.dx, g.x * 64, text .. ': x of glyph ' .. i)
    pen = pen + w.advance
  end
  return got
end

describe('text shaping', function()
  it('matches hb-shape for Latin ligatures and kerning ("ffi AV")', function()
    local got = assert_shaped_like_hb(SANS, 'ffi AV', 32)
    assert.are.equal(4, #got, '"ffi" is one ligature glyph')
    -- kerning: A and V sit closer than their advances without the font's kerning
    local plain = hb_shape(SANS, 'AV', 32, '--features=-kern')
    local kerned = vs.text_glyphs('AV', { font = SANS, size = 32 })
    assert.is_true(kerned[1].advance * 64 < plain[1].advance, 'A is kerned against V')
  end)

  it('matches hb-shape for Arabic (joined forms, right to left) and Hebrew', function()
    local ar = assert_shaped_like_hb(SANS, 'مرحبا', 40)
    -- joined: the presentation forms are not the isolated letters' glyphs
    local isolated = hb_shape(SANS, 'م', 40)[1].glyph
    assert.are_not.equal(isolated, ar[#ar].glyph)
    -- visual order: the first letter (byte 0) is drawn rightmost
    assert.are.equal(0, ar[#ar].cluster)
    assert_shaped_like_hb(SANS, 'שלום עולם', 30)
  end)

  it('matches hb-shape for Devanagari (conjuncts, reordered matras)', function()
    local got = assert_shaped_like_hb(DEVA, 'नमस्ते', 36)
    assert.are.equal(5, #got)
    local cps = 0
    for _ in ('नमस्ते'):gmatch('[^\128-\191][\128-\191]*') do cps = cps + 1 end
    assert.are.equal(6, cps, 'six characters shape to five glyphs')
  end)

  it('orders a mixed paragraph visually: Hebrew runs right to left inside a Latin line', function()
    -- logical: "abc " then Hebrew alef bet gimel then " def"
    local text = 'abc אבג def'
    local glyphs = vs.text_glyphs(text, { size = 20 })
    local order = {}
    for _, g in ipairs(glyphs) do order[#order + 1] = g.cluster end
    -- alef (byte 4) is right of gimel (byte 8); the Latin stays left to right
    local pos = {}
    for i, g in ipairs(glyphs) do pos[g.cluster] = g.x end
    assert.is_true(pos[0] < pos[1] and pos[1] < pos[2], 'abc left to right')
    assert.is_true(pos[8] < pos[6] and pos[6] < pos[4], 'alef bet gimel right to left: ' .. table.concat(order, ' '))
    assert.is_true(pos[2] < pos[8] and pos[4] < pos[12], 'the Hebrew run sits between the Latin words')
    -- a right-to-left paragraph puts its first (Latin) word at the right
    local rtl = vs.text_glyphs('abc אבג', { size = 20, direction = 'rtl' })
    local at = {}
    for _, g in ipairs(rtl) do at[g.cluster] = g.x end
    assert.is_true(at[0] > at[4], 'in an rtl paragraph "abc" is right of the Hebrew')
    local auto = vs.text_glyphs('אבג abc', { size = 20 })
    local at2 = {}
    for _, g in ipairs(auto) do at2[g.cluster] = g.x end
    assert.is_true(at2[0] > at2[7], 'a paragraph starting with Hebrew is right to left')
  end)

  it('finds fonts by family, style and weight through fontconfig, or by path', function()
    local function file_of(font) return vs.text_glyphs('a', { font = font })[1].font end
    assert.are.equal('/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf', file_of('DejaVu Serif:bold'))
    assert.are.equal('/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf', file_of('DejaVu Serif'))
    assert.are.equal('/usr/share/fonts/truetype/dejavu/DejaVuSans-ExtraLight.ttf', file_of('DejaVu Sans:weight=40'))
    assert.are.equal(SANS, file_of(SANS))
    assert.are.equal(SANS, file_of(nil))
    local bold = vs.text_size('Hamburgefonstiv', { font = 'DejaVu Serif:bold', size = 20 })
    local regular = vs.text_size('Hamburgefonstiv', { font = 'DejaVu Serif', size = 20 })
    assert.is_true(bold > regular, 'bold is wider')
  end)

  it('names a family that is not installed', function()
    local ok, err = pcall(vs.text_size, 'x', { font = 'No Such Family:bold' })
    assert.is_false(ok)
    assert.matches('vstudio: text_size: font not found: No Such Family:bold %(no installed font family by that name', err)
    -- generic families are substituted, as they exist to be
    assert.matches('DejaVu', vs.text_glyphs('a', { font = 'sans-serif' })[1].font)
  end)

  it('falls back, per run, to an installed font that has the glyphs the chosen one lacks', function()
    -- DejaVu Serif has no Hebrew and no Devanagari
    local glyphs = vs.text_glyphs('Aשב क', { font = 'DejaVu Serif', size = 30 })
    local files = {}
    for _, g in ipairs(glyphs) do
      files[g.cluster] = g.font
      assert.are_not.equal(0, g.glyph, 'no .notdef box at byte ' .. g.cluster)
    end
    assert.matches('DejaVuSerif%.ttf$', files[0])
    assert.matches('DejaVuSans', files[1], 'Hebrew from DejaVu Sans')
    assert.matches('Lohit%-Devanagari', files[6], 'Devanagari from Lohit')
    -- and it is drawn: the Devanagari letter has ink
    local f = vs.frame(80, 60):fill(0, 0, 0)
    f:text('क', { font = 'DejaVu Serif', size = 40, x = 10, y = 5 })
    local ink = 0
    for y = 0, 59 do for x = 0, 79 do if f:get(x, y) > 128 then ink = ink + 1 end end end
    assert.is_true(ink > 50, 'fallback glyph has ink: ' .. ink)
  end)

  it('shows a character no installed font has as the font\'s box, not an error', function()
    local glyphs = vs.text_glyphs('a\u{10FFFD}b', { size = 20 })
    assert.are.equal(3, #glyphs)
    assert.are.equal(0, glyphs[2].glyph)
  end)
end)
