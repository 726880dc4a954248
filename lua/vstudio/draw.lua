-- draw.lua: drawing on frames (frame:rect, :circle, :line, :polygon,
-- :gradient, :scaled, :text) and text measuring (vs.text_size).
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

-- Fonts: one FreeType face per (path, size) per Lua state (a worker's own).
local DEFAULT_FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'
local FONT_DIRS = { '/usr/share/fonts/truetype/dejavu/', '/usr/share/fonts/truetype/', '/usr/share/fonts/opentype/' }
local fonts = {}

local function exists(path)
  local f = io.open(path, 'rb')
  if f then f:close() end
  return f ~= nil
end

local function font_path(name, what)
  if name == nil then
    if exists(DEFAULT_FONT) then return DEFAULT_FONT end
    check.fail('%s: default font %s is missing (apt-get install fonts-dejavu-core, or give font = "path.ttf")', what,
               DEFAULT_FONT)
  end
  if type(name) ~= 'string' then check.fail('%s: font must be a path to a .ttf/.otf file', what) end
  if exists(name) then return name end
  if not name:find('/') then
    for _, dir in ipairs(FONT_DIRS) do
      for _, ext in ipairs { '', '.ttf', '.otf' } do
        if exists(dir .. name .. ext) then return dir .. name .. ext end
      end
    end
  end
  check.fail('%s: font not found: %s (give the path of a .ttf or .otf file)', what, name)
end

local function get_font(opts, what)
  local size = opts.size or 32
  if type(size) ~= 'number' or not (size >= 1 and size <= 2000) then
    check.fail('%s: size must be a number of pixels in 1..2000, got %s', what, size)
  end
  local path = font_path(opts.font, what)
  local key = path .. '\0' .. size
  local font = fonts[key]
  if not font then
    font = core.check(C.vs_font_open(path, size), what)
    font = ffi.gc(font, C.vs_font_close)
    fonts[key] = font
  end
  return font
end

local ALIGN = { left = 'VS_ALIGN_LEFT', center = 'VS_ALIGN_CENTER', centre = 'VS_ALIGN_CENTER', right = 'VS_ALIGN_RIGHT' }
-- where the x given falls in the text's box, as a fraction of its width
local ANCHOR = { VS_ALIGN_LEFT = 0, VS_ALIGN_CENTER = 0.5, VS_ALIGN_RIGHT = 1 }

local function text_opts(str, opts, what)
  if type(str) ~= 'string' then check.fail('%s: text must be a string, got %s', what, type(str)) end
  opts = opts or {}
  if type(opts) ~= 'table' then check.fail('%s: options must be a table', what) end
  local align = ALIGN[opts.align or 'left']
  if not align then
    check.fail('%s: align must be "left", "center" or "right", got %s', what, opts.align)
  end
  return opts, get_font(opts, what), align
end

local function measure(font, str)
  local w, h = ffi.new('int[1]'), ffi.new('int[1]')
  C.vs_text_measure(font, str, w, h)
  return w[0], h[0]
end

-- frame:text(str, {x =, y =, size =, color =, font =, align =}): draws
-- UTF-8 text whose box has its top at y and its left edge (align 'left'),
-- centre ('center') or right edge ('right') at x; each line is aligned the
-- same way inside the box. x or y may be "center" to centre the box in the frame.
function M.text(f, str, opts)
  local o, font, align = text_opts(str, opts, 'text')
  local r, g, b, a = check.color(o.color or 255, 'text')
  local x, y = o.x or 0, o.y or 0
  if (type(x) ~= 'number' and x ~= 'center') or (type(y) ~= 'number' and y ~= 'center') then
    check.fail('text: x and y must be numbers or "center", got %s, %s', x, y)
  end
  local w, h = measure(font, str)
  -- the C side takes the box's top-left corner
  local left = x == 'center' and math.floor((f.width - w) / 2) or x - ANCHOR[align] * w
  if y == 'center' then y = math.floor((f.height - h) / 2) end
  C.vs_text_draw(f, font, str, left, y, align, r, g, b, a)
  return f
end

local draw = {}

-- vs.text's options, font and box size (clip.lua).
function draw.text_layout(str, opts)
  local o, font, align = text_opts(str, opts, 'text')
  local w, h = measure(font, str)
  return o, font, align, w, h
end

function draw.install(vs)
  vs.default_font = DEFAULT_FONT

  -- Width and height in pixels of the text's box (widest line x lines).
  function vs.text_size(str, opts)
    local _, font = text_opts(str, opts, 'text_size')
    return measure(font, str)
  end
end

return draw
