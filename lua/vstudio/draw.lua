-- draw.lua: drawing on frames (frame:rect, :circle, :line, :polygon,
-- :gradient, :scaled, :text, :path) and text measuring (vs.text_size,
-- vs.text_glyphs).
--
-- The pixels are C kernels (src/draw.c, scale.c, text.c); this module
-- checks arguments and turns shape tables into calls. Shapes take named
-- fields or positional ones: frame:rect{10, 10, 50, 20, color = {255, 0, 0}}
-- equals frame:rect{x = 10, y = 10, w = 50, h = 20, color = ...}. Colours are
-- {r, g, b[, a]} (0..255), a grey number or '#rrggbb[aa]'; default white.
-- Shapes blend "over" the frame with anti-aliased edges.
local ffi = require 'ffi'
local core = require 'vstudio.core'
local check = require 'vstudio.check'

local C = core.C
local M = core.frame_methods

local function num(spec, name, i, what, default)
  local v = spec[name]
  if v == nil then v = spec[i] end
  if v == nil then v = default end
  if type(v) ~= 'number' or v ~= v then
    check.fail('%s: %s must be a number, got %s', what, name, v)
  end
  return v
end

local function shape_spec(spec, what)
  if type(spec) ~= 'table' then check.fail('%s: expected a table of fields', what) end
  return spec
end

function M.rect(f, spec)
  shape_spec(spec, 'rect')
  local x, y = num(spec, 'x', 1, 'rect', 0), num(spec, 'y', 2, 'rect', 0)
  local w, h = num(spec, 'w', 3, 'rect', f.width - x), num(spec, 'h', 4, 'rect', f.height - y)
  if w < 0 or h < 0 then check.fail('rect: w and h must be >= 0, got %s, %s', w, h) end
  local r, g, b, a = check.color(spec.color or spec[5] or 255, 'rect')
  local radius = spec.radius or 0
  if type(radius) ~= 'number' or not (radius >= 0) then check.fail('rect: radius must be >= 0, got %s', radius) end
  C.vs_draw_rounded_rect(f, x, y, w, h, radius, r, g, b, a)
  return f
end

function M.circle(f, spec)
  shape_spec(spec, 'circle')
  local x, y, rad = num(spec, 'x', 1, 'circle'), num(spec, 'y', 2, 'circle'), num(spec, 'r', 3, 'circle')
  if rad < 0 then check.fail('circle: r must be >= 0, got %s', rad) end
  local r, g, b, a = check.color(spec.color or spec[4] or 255, 'circle')
  C.vs_draw_circle(f, x, y, rad, r, g, b, a)
  return f
end

function M.line(f, spec)
  shape_spec(spec, 'line')
  local x0, y0 = num(spec, 'x0', 1, 'line'), num(spec, 'y0', 2, 'line')
  local x1, y1 = num(spec, 'x1', 3, 'line'), num(spec, 'y1', 4, 'line')
  local width = num(spec, 'width', 5, 'line', 1)
  if width <= 0 then check.fail('line: width must be > 0, got %s', width) end
  local r, g, b, a = check.color(spec.color or spec[6] or 255, 'line')
  C.vs_draw_line(f, x0, y0, x1, y1, width, r, g, b, a)
  return f
end

local function flat_points(pts, what)
  if type(pts) ~= 'table' then check.fail('%s: points must be a list of {x, y}', what) end
  local flat = {}
  for _, p in ipairs(pts) do
    if type(p) == 'table' then
      flat[#flat + 1], flat[#flat + 2] = p[1], p[2]
    else
      flat[#flat + 1] = p
    end
  end
  for i = 1, #flat do
    if type(flat[i]) ~= 'number' then check.fail('%s: point coordinates must be numbers', what) end
  end
  return flat
end

-- points: {{x, y}, {x, y}, ...} or a flat {x0, y0, x1, y1, ...}.
function M.polygon(f, spec)
  shape_spec(spec, 'polygon')
  local flat = flat_points(spec.points or spec[1], 'polygon')
  local n = math.floor(#flat / 2)
  if n < 3 or #flat % 2 ~= 0 then
    check.fail('polygon: needs at least 3 points {x, y}, got %s', #flat / 2)
  end
  local xy = ffi.new('double[?]', #flat, flat)
  local r, g, b, a = check.color(spec.color or spec[2] or 255, 'polygon')
  core.check(C.vs_draw_polygon(f, xy, n, r, g, b, a), 'polygon')
  return f
end

local JOIN = { miter = 'VS_JOIN_MITER', round = 'VS_JOIN_ROUND', bevel = 'VS_JOIN_BEVEL' }
local CAP = { butt = 'VS_CAP_BUTT', round = 'VS_CAP_ROUND', square = 'VS_CAP_SQUARE' }

-- frame:path{points = {{x, y}, ...} (or flat), width = 1, color =, closed = false,
-- join = 'round'|'miter'|'bevel', cap = 'round'|'butt'|'square', miter_limit = 4}:
-- a polyline stroked as one shape (overlaps are not drawn twice).
function M.path(f, spec)
  shape_spec(spec, 'path')
  local flat = flat_points(spec.points or spec[1], 'path')
  local n = #flat / 2
  if n < 2 or #flat % 2 ~= 0 then check.fail('path: needs at least 2 points {x, y}, got %s', n) end
  local width = spec.width or 1
  if type(width) ~= 'number' or not (width > 0) then check.fail('path: width must be > 0, got %s', width) end
  local join = JOIN[spec.join or 'round']
  if not join then check.fail('path: join must be "round", "miter" or "bevel", got %s', spec.join) end
  local cap = CAP[spec.cap or 'round']
  if not cap then check.fail('path: cap must be "round", "butt" or "square", got %s', spec.cap) end
  local limit = spec.miter_limit or 4
  if type(limit) ~= 'number' or not (limit >= 1) then check.fail('path: miter_limit must be >= 1, got %s', limit) end
  local xy = ffi.new('double[?]', #flat, flat)
  local r, g, b, a = check.color(spec.color or spec[2] or 255, 'path')
  core.check(C.vs_draw_path(f, xy, n, spec.closed and 1 or 0, width, join, cap, limit, r, g, b, a), 'path')
  return f
end

-- frame:gradient{c0, c1[, direction = 'vertical'|'horizontal'|degrees]}
-- or {c0, c1, x0 =, y0 =, x1 =, y1 =}: replaces every pixel by a linear
-- gradient from c0 to c1 (vertical: top to bottom; degrees: 0 is left to
-- right, 90 top to bottom, through the frame's centre).
function M.gradient(f, spec)
  shape_spec(spec, 'gradient')
  local c0 = ffi.new('uint8_t[4]', { check.color(spec[1] or spec.from or 0, 'gradient') })
  local c1 = ffi.new('uint8_t[4]', { check.color(spec[2] or spec.to or 255, 'gradient') })
  local x0, y0, x1, y1 = spec.x0, spec.y0, spec.x1, spec.y1
  if x0 == nil then
    local dir = spec.direction or 'vertical'
    local deg = dir == 'vertical' and 90 or dir == 'horizontal' and 0 or dir
    if type(deg) ~= 'number' then
      check.fail('gradient: direction must be "vertical", "horizontal" or degrees, got %s', dir)
    end
    local a = math.rad(deg)
    local dx, dy = math.cos(a), math.sin(a)
    -- half the frame's extent along the direction, so the ends touch corners
    local half = (math.abs(dx) * f.width + math.abs(dy) * f.height) / 2
    local cx, cy = f.width / 2, f.height / 2
    x0, y0, x1, y1 = cx - dx * half, cy - dy * half, cx + dx * half, cy + dy * half
  end
  for _, v in ipairs { x0, y0, x1, y1 } do
    if type(v) ~= 'number' then check.fail('gradient: x0, y0, x1, y1 must be numbers') end
  end
  C.vs_draw_gradient(f, x0, y0, x1, y1, c0, c1)
  return f
end

-- A new frame of w x h with this frame's pixels resized (bicubic, area-like
-- when shrinking).
function M.scaled(f, w, h)
  check.int(w, 1, core.MAX_SIDE, 'scaled: width')
  check.int(h, 1, core.MAX_SIDE, 'scaled: height')
  return core.own_frame(core.check(C.vs_frame_scaled(f, w, h), 'scaled'))
end

-- Fonts: one vs_font per (name, size) per Lua state (a worker's own, so
-- workers draw text in parallel without a lock); layouts (shaped, wrapped
-- text) per (font, options, text), so a title drawn on every frame is
-- shaped and rasterized once. The layout cache is emptied when it holds
-- LAYOUT_CACHE texts (a lyric video's lines come and go).
local DEFAULT_FONT = 'DejaVu Sans'
local LAYOUT_CACHE = 256
local fonts = {}
local layouts, nlayouts = {}, 0

local function get_font(opts, what)
  local size = opts.size or 32
  if type(size) ~= 'number' or not (size >= 1 and size <= 2000) then
    check.fail('%s: size must be a number of pixels in 1..2000, got %s', what, size)
  end
  local name = opts.font or DEFAULT_FONT
  if type(name) ~= 'string' then
    check.fail('%s: font must be a family ("DejaVu Serif:bold") or a .ttf/.otf path, got %s', what, type(name))
  end
  local key = name .. '\0' .. size
  local font = fonts[key]
  if not font then
    font = ffi.gc(core.check(C.vs_font_open(name, size), what), C.vs_font_close)
    fonts[key] = font
  end
  return font, key
end

local ALIGN = { left = 'VS_ALIGN_LEFT', center = 'VS_ALIGN_CENTER', centre = 'VS_ALIGN_CENTER', right = 'VS_ALIGN_RIGHT' }
local DIRECTION = { auto = 'VS_DIRECTION_AUTO', ltr = 'VS_DIRECTION_LTR', rtl = 'VS_DIRECTION_RTL' }
-- where x (anchor) and y (valign) fall on the text's box, as fractions of its size
local ANCHOR = { left = 0, center = 0.5, centre = 0.5, right = 1 }
local VALIGN = { top = 0, middle = 0.5, center = 0.5, bottom = 1 }

local function choice(map, v, default, what, name, names)
  local c = map[v == nil and default or v]
  if not c then check.fail('%s: %s must be %s, got %s', what, name, names, v) end
  return c
end

local function number_opt(o, name, what, lo, default)
  local v = o[name]
  if v == nil then return default end
  if type(v) ~= 'number' or not (v >= lo and v < 1e6) then
    check.fail('%s: %s must be a number >= %s, got %s', what, name, lo, v)
  end
  return v
end

-- The text's layout (cached), its options table and its box size.
local function layout_of(str, opts, what)
  if type(str) ~= 'string' then check.fail('%s: text must be a string, got %s', what, type(str)) end
  opts = opts or {}
  if type(opts) ~= 'table' then check.fail('%s: options must be a table', what) end
  local font, font_key = get_font(opts, what)
  local align = choice(ALIGN, opts.align, 'left', what, 'align', '"left", "center" or "right"')
  local dir = choice(DIRECTION, opts.direction, 'auto', what, 'direction', '"auto", "ltr" or "rtl"')
  local width = number_opt(opts, 'width', what, 0, 0)
  local line_spacing = number_opt(opts, 'line_spacing', what, 0, 1)
  local letter_spacing = number_opt(opts, 'letter_spacing', what, -1000, 0)
  local key = table.concat({ font_key, align, dir, width, line_spacing, letter_spacing, str }, '\0')
  local entry = layouts[key]
  if not entry then
    local o = ffi.new('vs_text_options', { align = align, direction = dir, width = width,
                                           line_spacing = line_spacing, letter_spacing = letter_spacing })
    local l = ffi.gc(core.check(C.vs_text_layout_new(font, str, o), what), C.vs_text_layout_free)
    local w, h, n = ffi.new('int[1]'), ffi.new('int[1]'), ffi.new('int[1]')
    C.vs_text_layout_size(l, w, h, n)
    if nlayouts >= LAYOUT_CACHE then layouts, nlayouts = {}, 0 end
    entry = { layout = l, font = font, w = w[0], h = h[0], lines = n[0] }
    layouts[key], nlayouts = entry, nlayouts + 1
  end
  return entry, opts
end

-- shadow = true | {x =, y =, blur =, color =}
local SHADOW = { x = 2, y = 2, blur = 0, color = { 0, 0, 0, 160 } }

-- How the text is painted: fill, opacity, outline, shadow (a vs_text_paint).
local function paint_of(o, what, reveal)
  local p = ffi.new('vs_text_paint')
  local r, g, b, a = check.color(o.color or 255, what)
  p.color[0], p.color[1], p.color[2], p.color[3] = r, g, b, a
  local opacity = o.opacity == nil and 1 or o.opacity
  if type(opacity) ~= 'number' or not (opacity >= 0 and opacity <= 1) then
    check.fail('%s: opacity must be a number in [0, 1], got %s', what, opacity)
  end
  p.opacity = opacity
  p.outline = number_opt(o, 'outline', what, 0, 0)
  if p.outline > 1000 then check.fail('%s: outline must be at most 1000 pixels, got %s', what, o.outline) end
  r, g, b, a = check.color(o.outline_color or 0, what)
  p.outline_color[0], p.outline_color[1], p.outline_color[2], p.outline_color[3] = r, g, b, a
  local sh = o.shadow
  if sh then
    if sh == true then sh = {} end
    if type(sh) ~= 'table' then check.fail('%s: shadow must be true or {x =, y =, blur =, color =}', what) end
    p.shadow_x = check.number(sh.x == nil and SHADOW.x or sh.x, what, 'shadow.x')
    p.shadow_y = check.number(sh.y == nil and SHADOW.y or sh.y, what, 'shadow.y')
    p.shadow_blur = number_opt(sh, 'blur', what .. ': shadow', 0, SHADOW.blur)
    r, g, b, a = check.color(sh.color or SHADOW.color, what)
    p.shadow_color[0], p.shadow_color[1], p.shadow_color[2], p.shadow_color[3] = r, g, b, a
  end
  p.reveal = reveal or -1
  return p
end

-- Pixels the outline and shadow reach beyond the box on every side.
local function paint_margin(p)
  local m = p.outline
  if p.shadow_color[3] > 0 then
    m = math.max(m, math.max(math.abs(p.shadow_x), math.abs(p.shadow_y)) + p.outline + 1.5 * p.shadow_blur)
  end
  return math.ceil(m)
end

-- The background box behind the text (background =, padding =, radius =).
local function box_of(o, what)
  local pad = o.padding or 0
  if type(pad) ~= 'number' or pad < 0 or pad % 1 ~= 0 then
    check.fail('%s: padding must be a non-negative integer, got %s', what, pad)
  end
  local radius = number_opt(o, 'radius', what, 0, 0)
  local bg = o.background and { check.color(o.background, what) }
  return pad, bg, radius
end

-- frame:text(str, {x =, y =, size =, font =, color =, align =, anchor =,
-- valign =, width =, ... see README}): draws the text's box with x at its
-- left edge, centre or right edge (anchor, by default the align) and y at
-- its top, middle or bottom (valign, default top); x or y "center" centres
-- the box in the frame.
function M.text(f, str, opts)
  local entry, o = layout_of(str, opts, 'text')
  local paint = paint_of(o, 'text')
  local x, y = o.x or 0, o.y or 0
  if (type(x) ~= 'number' and x ~= 'center') or (type(y) ~= 'number' and y ~= 'center') then
    check.fail('text: x and y must be numbers or "center", got %s, %s', x, y)
  end
  local anchor = choice(ANCHOR, o.anchor, o.align or 'left', 'text', 'anchor', '"left", "center" or "right"')
  local valign = choice(VALIGN, o.valign, 'top', 'text', 'valign', '"top", "middle" or "bottom"')
  local w, h = entry.w, entry.h
  local left = x == 'center' and math.floor((f.width - w) / 2) or x - anchor * w
  local top = y == 'center' and math.floor((f.height - h) / 2) or y - valign * h
  local pad, bg, radius = box_of(o, 'text')
  if bg then
    C.vs_draw_rounded_rect(f, left - pad, top - pad, w + 2 * pad, h + 2 * pad, radius, bg[1], bg[2], bg[3],
                           math.floor(bg[4] * paint.opacity + 0.5))
  end
  core.check(C.vs_text_draw(f, entry.layout, left, top, paint), 'text')
  return f
end

local draw = {}

-- What vs.text (clip.lua) needs: the layout entry and options, a paint
-- maker, the margin its outline and shadow need and its box.
draw.layout_of, draw.paint_of, draw.paint_margin, draw.box_of = layout_of, paint_of, paint_margin, box_of

function draw.install(vs)
  vs.default_font = DEFAULT_FONT

  -- Width and height in pixels of the text's box (widest line x the
  -- lines), and its number of lines.
  function vs.text_size(str, opts)
    local entry = layout_of(str, opts, 'text_size')
    return entry.w, entry.h, entry.lines
  end

  -- The text's glyphs as laid out: {glyph =, cluster = (byte offset, from
  -- 0), font = (file), line =, x =, y = (baseline), advance =}, in pixels
  -- from the box's top-left corner, in drawing order.
  function vs.text_glyphs(str, opts)
    local entry = layout_of(str, opts, 'text_glyphs')
    local n = C.vs_text_layout_glyphs(entry.layout, nil, 0)
    local buf = ffi.new('vs_text_glyph[?]', math.max(n, 1))
    C.vs_text_layout_glyphs(entry.layout, buf, n)
    local out = {}
    for i = 0, n - 1 do
      local g = buf[i]
      out[i + 1] = { glyph = g.glyph, cluster = g.cluster, font = ffi.string(C.vs_font_face_path(entry.font, g.face)),
                     line = g.line, x = g.x, y = g.y, advance = g.advance }
    end
    return out
  end
end

return draw
