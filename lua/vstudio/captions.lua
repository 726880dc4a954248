-- captions.lua: caption files (SRT, WebVTT, ASS/SSA) as clips, drawn by
-- libass (src/captions.c).
--
--   vs.captions(path[, style]) -> a clip, transparent but for the captions,
--   to put over another of the same size and rate:
--   vs.overlay{video, vs.captions('subs.srt', {size = video.size, fps = video.fps_num .. '/' .. video.fps_den})}
--
-- Frame k shows the cues whose span [start, end) holds its start time
-- k * fps_den / fps_num, computed in whole milliseconds from integers: a cue
-- from 1.000 to 2.500 s is on exactly frames 30..74 at 30 fps. Being a clip,
-- the captions follow trim, speed, sequence and the rest.
--
-- style: size = {w, h} (1920x1080), fps (30), duration (s; the last cue's
-- end), font (a fontconfig family, 'sans-serif'), font_size (px, height/18),
-- color ({r, g, b[, a]} or '#rrggbb', white), outline (px, font_size/20),
-- outline_color (black), margin (px from the edges, height/20), position
-- ('bottom' | 'top' | 'middle'), bold, italic. SRT/VTT cues take this style;
-- ASS/SSA files keep their own.
--
-- Each Lua state (each render worker) opens its own libass renderer: libass
-- is not thread-safe, and a worker draws from one thread.
local ffi = require 'ffi'
local core = require 'vstudio.core'
local check = require 'vstudio.check'
local clip = require 'vstudio.clip'

local C = core.C

local M = {}

local positions = { bottom = 'VS_CAPTION_BOTTOM', top = 'VS_CAPTION_TOP', middle = 'VS_CAPTION_MIDDLE' }
local known = { size = true, fps = true, duration = true, font = true, font_size = true, color = true,
                outline = true, outline_color = true, margin = true, position = true, bold = true, italic = true }

local function set_color(dst, value, what)
  local r, g, b, a = check.color(value, what)
  dst[0], dst[1], dst[2], dst[3] = r, g, b, a
end

local function non_negative(v, what)
  if v ~= nil and (type(v) ~= 'number' or not (v >= 0 and v < 1e5)) then
    check.fail('captions: %s must be a number of pixels >= 0, got %s', what, v)
  end
  return v
end

-- The C style from the Lua options (keeps the font string alive in `keep`).
local function c_style(style, keep)
  local s = ffi.new('vs_caption_style')
  C.vs_caption_style_init(s)
  if style.font ~= nil then
    if type(style.font) ~= 'string' or style.font == '' then
      check.fail('captions: font must be a family name like "DejaVu Serif", got %s', style.font)
    end
    keep.font = style.font
    s.font = style.font
  end
  if non_negative(style.font_size, 'font_size') then s.size = style.font_size end
  if non_negative(style.outline, 'outline') then s.outline = style.outline end
  if non_negative(style.margin, 'margin') then s.margin = style.margin end
  if style.color ~= nil then set_color(s.color, style.color, 'captions: color') end
  if style.outline_color ~= nil then set_color(s.outline_color, style.outline_color, 'captions: outline_color') end
  if style.position ~= nil then
    if not positions[style.position] then
      check.fail('captions: position must be "bottom", "top" or "middle", got %s', style.position)
    end
    s.position = positions[style.position]
  end
  s.bold = style.bold and 1 or 0
  s.italic = style.italic and 1 or 0
  return s
end

-- Checks the style table and opens the captions for frames of style.size;
-- returns them (freed by the GC) and the size.
local function open(path, style)
  if type(path) ~= 'string' then check.fail('captions: path must be a string, got %s', type(path)) end
  if type(style) ~= 'table' then check.fail('captions: style must be a table, got %s', type(style)) end
  for k in pairs(style) do
    if not known[k] then check.fail('captions: unknown style option %s', tostring(k)) end
  end
  local size = style.size or { 1920, 1080 }
  if type(size) ~= 'table' then check.fail('captions: size must be {width, height}') end
  local w = check.int(size[1], 1, core.MAX_SIDE, 'captions: width')
  local h = check.int(size[2], 1, core.MAX_SIDE, 'captions: height')
  local keep = {}
  local caps = C.vs_captions_open(path, w, h, c_style(style, keep))
  if caps == nil then check.fail('captions: %s', ffi.string(C.vs_last_error())) end
  return ffi.gc(caps, C.vs_captions_close), { w, h }
end

-- Whole milliseconds of frame k's start, from integers: exact.
local function frame_ms(k, num, den)
  return math.floor(k * den * 1000 / num)
end

-- The captions of `path` as a clip of style.size (see the top of the file).
function M.captions(path, style)
  style = style or {}
  local caps, size = open(path, style)
  local num, den = clip.rational_fps(style.fps or 30)
  local duration = style.duration
  if duration == nil then duration = math.max(tonumber(C.vs_captions_end(caps)) / 1000, den / num) end
  local frames = clip.duration_frames(duration, num, den, 'captions')
  local c = clip.new_clip(size, num, den, frames, function(_, k, frame)
    C.vs_frame_fill(frame, 0, 0, 0, 0)
    core.check(C.vs_captions_draw(caps, frame, frame_ms(k, num, den)), 'captions')
  end)
  c.cues = C.vs_captions_count(caps)
  return c
end

-- `base` with the captions of `path` burnt in at its size and rate
-- (vstudio run --captions): drawn straight onto its frames, with no
-- transparent layer to fill and composite.
function M.burn(base, path, style)
  style = style or {}
  style.size = base.size
  local caps = open(path, style)
  local num, den = base.fps_num, base.fps_den
  -- derive: the burnt clip keeps the base's sound and position
  return clip.derive(base, base.size, base.frames, function(_, k, frame)
    base:render(k, frame)
    core.check(C.vs_captions_draw(caps, frame, frame_ms(k, num, den)), 'captions')
  end)
end

function M.install(vs)
  vs.captions = M.captions
end

return M
