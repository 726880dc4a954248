-- repl.lua: the Lua half of the interactive prompt and of the previews.
--
-- src/repl.c owns the terminal (libedit line editing, history, signals) and
-- hands every line to M.feed; this module does everything that is easier in
-- Lua: compiling a line as an expression first ("return " .. line, as the
-- lua REPL does) and as a statement second, telling an incomplete chunk
-- (the parser stopped at '<eof>') from a wrong one, printing results with a
-- bounded pretty printer, and the completion candidates for TAB.
--
-- It also draws frames: show() paints a frame in the terminal with 24-bit
-- colour half blocks ("▀": foreground = upper pixel, background = lower
-- pixel, so one cell is two square pixels), sheet() lays out a contact sheet
-- of evenly spaced frames with their timestamps, and preview()/watch_once()
-- are what `vstudio preview` and `vstudio run --watch` run.
local ffi = require 'ffi'
local vs = require 'vstudio'
local core = require 'vstudio.core'
local check = require 'vstudio.check'
local session = require 'vstudio.session'

local C = core.C
local floor, ceil, max, min = math.floor, math.ceil, math.max, math.min

local M = {}

---------------------------------------------------------------- printing

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or repeat return then
            true until while]]):gmatch('%a+') do KEYWORDS[w] = true end

local function is_name(s)
  return type(s) == 'string' and s:match('^[%a_][%w_]*$') ~= nil and not KEYWORDS[s]
end

local MAX_DEPTH, MAX_ITEMS, WIDTH = 3, 40, 96

local function has_tostring(v)
  local mt = getmetatable(v)
  return type(mt) == 'table' and mt.__tostring ~= nil
end

local function key_order(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta < tb end
  if ta == 'number' or ta == 'string' then return a < b end
  return tostring(a) < tostring(b)
end

local pretty

local function pretty_table(t, depth, seen, indent)
  if seen[t] then return '<cycle>' end
  if depth > MAX_DEPTH then return '{...}' end
  seen[t] = true
  local items, n, shown = {}, #t, 0
  local limit = depth == 1 and MAX_ITEMS or 8
  local total = 0
  for _ in pairs(t) do total = total + 1 end
  local inner = indent .. '  '
  for i = 1, n do
    if shown >= limit then break end
    items[#items + 1] = pretty(t[i], depth + 1, seen, inner, true)
    shown = shown + 1
  end
  local keys = {}
  for k in pairs(t) do
    if not (type(k) == 'number' and k >= 1 and k <= n and k % 1 == 0) then keys[#keys + 1] = k end
  end
  table.sort(keys, key_order)
  for _, k in ipairs(keys) do
    if shown >= limit then break end
    local ks = is_name(k) and k or ('[' .. pretty(k, depth + 1, seen, inner, true) .. ']')
    items[#items + 1] = ks .. ' = ' .. pretty(t[k], depth + 1, seen, inner, true)
    shown = shown + 1
  end
  seen[t] = nil
  if total > shown then items[#items + 1] = string.format('... (%d more)', total - shown) end
  if #items == 0 then return '{}' end
  local line = '{' .. table.concat(items, ', ') .. '}'
  if #line + #indent <= WIDTH and not line:find('\n', 1, true) then return line end
  return '{\n' .. inner .. table.concat(items, ',\n' .. inner) .. '\n' .. indent .. '}'
end

-- A readable, bounded rendering of any value: nested tables to MAX_DEPTH,
-- MAX_ITEMS entries each, objects with __tostring (clips, writers) and
-- frames as their tostring. Strings are quoted when `quote` (inside tables).
function pretty(v, depth, seen, indent, quote)
  local tv = type(v)
  if tv == 'string' then return quote and string.format('%q', v):gsub('\\\n', '\\n') or v end
  if tv == 'function' and quote then return 'function' end
  if tv == 'table' then
    if has_tostring(v) then return tostring(v) end
    return pretty_table(v, depth or 1, seen or {}, indent or '')
  end
  return tostring(v)
end

function M.pretty(v) return pretty(v) end

-- The results of an expression, tab-separated like the lua REPL.
local function print_results(n, ...)
  if n == 0 then return end
  local out = {}
  for i = 1, n do out[i] = pretty((select(i, ...))) end
  io.stdout:write(table.concat(out, '\t'), '\n')
  io.stdout:flush()
end

---------------------------------------------------------------- errors

-- The message and a short traceback without the REPL's own frames.
local function traceback(e)
  local msg = type(e) == 'string' and e or pretty(e)
  local tb = debug.traceback('', 2)
  local lines = {}
  for line in tb:gmatch('[^\n]+') do
    if not (line:find('stack traceback:', 1, true) or line:find('vstudio/repl.lua', 1, true) or
            line:find("in function 'xpcall'", 1, true) or line:find('%[C%]: %?$') or
            line:find("in function 'error'", 1, true) or line:find('^%s*%[builtin#%d+%]')) then
      lines[#lines + 1] = line
    end
  end
  if #lines > 6 then
    local more = #lines - 6
    for i = #lines, 7, -1 do lines[i] = nil end
    lines[#lines + 1] = string.format('\t(... %d more)', more)
  end
  if #lines == 0 then return msg end
  return msg .. '\nstack traceback:\n' .. table.concat(lines, '\n')
end

local function report(e)
  io.stdout:flush()
  io.stderr:write(e, '\n')
  io.stderr:flush()
end

---------------------------------------------------------------- evaluation

local pending = nil -- the lines of an incomplete chunk

local function incomplete(err)
  return err:sub(-7) == "'<eof>'"
end

local function pack(...) return ... end

local function finish_run(ok, ...)
  if not ok then
    report((...))
    return 'error'
  end
  print_results(select('#', ...), ...)
  return 'ok'
end

local function run(fn)
  return finish_run(xpcall(fn, traceback))
end

-- One line of input: 'more' (the chunk is incomplete: show the continuation
-- prompt), 'ok', or 'error' (reported on stderr).
function M.feed(line)
  local src = pending and (pending .. '\n' .. line) or line
  pending = nil
  if src:match('^%s*$') then return 'ok' end
  src = src:gsub('^=', 'return ') -- "=expr", as in lua 5.1
  -- the values go through a call, so `error("x")` is not a tail call and
  -- keeps its position ("stdin:1: x")
  local fn = loadstring('return (...)(' .. src .. '\n)', '=stdin')
  if fn then
    local expr = fn
    if jit then jit.off(expr, true) end
    fn = function() return expr(pack) end
  else
    local err
    fn, err = loadstring(src, '=stdin')
    if not fn then
      if incomplete(err) then
        pending = src
        return 'more'
      end
      report(err)
      return 'error'
    end
  end
  -- Ctrl-C works through a debug hook, which JIT-compiled loops never
  -- call: what is typed at the prompt runs interpreted (library and script
  -- code keeps the JIT; its loops are interrupted when they leave a trace)
  if jit then jit.off(fn, true) end
  return run(fn)
end

-- Ctrl-C: forget the incomplete chunk.
function M.reset() pending = nil end

-- End of input: an incomplete chunk is a syntax error now.
function M.finish()
  if not pending then return 'ok' end
  local _, err = loadstring(pending, '=stdin')
  pending = nil
  report(err or 'incomplete input')
  return 'error'
end

---------------------------------------------------------------- completion

local function methods_of(v)
  if type(v) == 'cdata' then
    if ffi.istype('vs_frame *', v) or ffi.istype('vs_frame', v) then return core.frame_methods end
    return nil
  end
  local mt = getmetatable(v)
  if type(mt) == 'table' and type(mt.__index) == 'table' then return mt.__index end
  return nil
end

local function collect(t, out, depth)
  if type(t) ~= 'table' or depth > 4 then return end
  for k, v in pairs(t) do
    if is_name(k) and out[k] == nil then out[k] = v end
  end
  collect(methods_of(t), out, depth + 1)
end

-- Candidates for the word before the cursor: globals and keywords for a
-- bare name, fields (and methods through __index tables) after '.' or ':'.
-- Returns full replacements: "vs.ea" -> {"vs.ease"}.
function M.complete(word)
  local base, sep, partial = word:match('^(.-)([%.:])([%w_]*)$')
  local names = {}
  if base then
    if not base:match('^[%a_][%w_]*$') and not base:match('^[%a_][%w_]*[%.%w_]*[%w_]$') then return {} end
    local obj = _G
    for part in base:gmatch('[^%.]+') do
      local ok, v = pcall(function() return obj[part] end)
      if not ok or v == nil then return {} end
      obj = v
    end
    if type(obj) == 'table' then
      collect(obj, names, 1)
    else
      collect(methods_of(obj), names, 1)
    end
    if sep == ':' then
      for k, v in pairs(names) do if type(v) ~= 'function' then names[k] = nil end end
    end
  else
    partial = word
    base, sep = '', ''
    collect(_G, names, 1)
    for k in pairs(KEYWORDS) do names[k] = names[k] or true end
  end
  local out = {}
  for k in pairs(names) do
    if k:sub(1, #partial) == partial then out[#out + 1] = base .. sep .. k end
  end
  table.sort(out)
  return out
end

---------------------------------------------------------------- terminal

-- Private names (asm labels) so another module's cdef of ioctl/isatty
-- cannot collide with these.
pcall(ffi.cdef, [[
  struct vs_repl_winsize { unsigned short ws_row, ws_col, ws_xpixel, ws_ypixel; };
  int vs_repl_ioctl(int fd, unsigned long request, ...) __asm__("ioctl");
  int vs_repl_isatty(int fd) __asm__("isatty");
]])

local TIOCGWINSZ = 0x5413 -- Linux

local function env_int(name)
  local v = tonumber(os.getenv(name) or '')
  if v and v >= 1 and v % 1 == 0 then return v end
  return nil
end

local function is_tty(fd)
  local ok, r = pcall(function() return ffi.C.vs_repl_isatty(fd) end)
  return ok and r == 1
end

-- Columns and rows of the terminal on stdout: COLUMNS/LINES when set,
-- else the terminal's size, else 80x24.
function M.terminal_size()
  local cols, rows = env_int('COLUMNS'), env_int('LINES')
  if not (cols and rows) then
    local ok, ws = pcall(function()
      local w = ffi.new('struct vs_repl_winsize')
      if ffi.C.vs_repl_ioctl(1, TIOCGWINSZ, w) == 0 and w.ws_col > 0 then return w end
      if ffi.C.vs_repl_ioctl(2, TIOCGWINSZ, w) == 0 and w.ws_col > 0 then return w end
      return nil
    end)
    if ok and ws then
      cols, rows = cols or ws.ws_col, rows or ws.ws_row
    end
  end
  return cols or 80, rows or 24
end

-- Whether show() may use colour: stdout is a terminal (not TERM=dumb) and
-- NO_COLOR is unset or empty (https://no-color.org).
function M.use_color()
  local nc = os.getenv('NO_COLOR')
  if nc and nc ~= '' then return false end
  if os.getenv('TERM') == 'dumb' then return false end
  return is_tty(1)
end

local function as_frame(x, t, what)
  if vs.is_clip(x) then
    t = t or 0
    if type(t) ~= 'number' then check.fail('%s: t must be a number of seconds', what) end
    if t < 0 or x:frame_index(t) >= x.frames then
      check.fail('%s: t=%g is outside the clip (0 <= t < %g s)', what, t, x.duration)
    end
    return x:frame_at(t)
  end
  if type(x) == 'cdata' and ffi.istype('vs_frame *', x) then return x end
  check.fail('%s: expected a clip or a frame, got %s', what, (vs.is_clip(x) and 'clip' or type(x)))
end

local RAMP = ' .:-=+*#%@'

-- show(clip_or_frame[, t][, {width=, height=, color=}]): draws the frame
-- (a clip's frame at t seconds, default 0) scaled to fit the terminal.
function M.show(x, t, opts)
  if type(t) == 'table' then t, opts = nil, t end
  opts = opts or {}
  if type(opts) ~= 'table' then check.fail('show: options must be a table') end
  local f = as_frame(x, t, 'show')
  local cols, rows = M.terminal_size()
  cols, rows = opts.width or cols, opts.height or max(2, rows - 2)
  local color = opts.color
  if color == nil then color = M.use_color() end
  -- a cell is about twice as tall as wide: half blocks give two square
  -- pixels per cell, a ramp character one pixel two pixels tall
  local s = min(cols / f.width, rows * 2 / f.height)
  local w = max(1, floor(f.width * s))
  local h = max(1, floor(f.height * s / (color and 1 or 2)))
  if color then h = max(2, h + h % 2) end
  local g = (w == f.width and h == f.height) and f or f:scaled(w, h)
  local out = {}
  local function px(y, x)
    local p = g.data + y * g.stride + x * 4
    local a = p[3]
    if a == 255 then return p[0], p[1], p[2] end
    return floor(p[0] * a / 255 + 0.5), floor(p[1] * a / 255 + 0.5), floor(p[2] * a / 255 + 0.5)
  end
  if color then
    for y = 0, h - 1, 2 do
      local line = {}
      for x = 0, w - 1 do
        local r1, g1, b1 = px(y, x)
        local r2, g2, b2 = 0, 0, 0
        if y + 1 < h then r2, g2, b2 = px(y + 1, x) end
        line[#line + 1] = string.format('\27[38;2;%d;%d;%dm\27[48;2;%d;%d;%dm\226\150\128', r1, g1, b1, r2, g2, b2)
      end
      out[#out + 1] = table.concat(line) .. '\27[0m\n'
    end
  else
    for y = 0, h - 1 do
      local line = {}
      for x = 0, w - 1 do
        local r, gg, b = px(y, x)
        local l = (0.2126 * r + 0.7152 * gg + 0.0722 * b) / 255
        local i = min(#RAMP, floor(l * #RAMP) + 1)
        line[#line + 1] = RAMP:sub(i, i)
      end
      out[#out + 1] = table.concat(line):gsub('%s+$', '') .. '\n'
    end
  end
  io.stdout:write(table.concat(out))
  io.stdout:flush()
end

---------------------------------------------------------------- contact sheet

-- A 3x5 bitmap font for timestamps when no TrueType font is available.
local GLYPHS = {
  ['0'] = '111101101101111', ['1'] = '010110010010111', ['2'] = '111001111100111',
  ['3'] = '111001111001111', ['4'] = '101101111001001', ['5'] = '111100111001111',
  ['6'] = '111100111101111', ['7'] = '111001001001001', ['8'] = '111101111101111',
  ['9'] = '111101111001111', ['.'] = '000000000000010', [':'] = '000010000010000',
  ['s'] = '000011110001110', ['-'] = '000000111000000', [' '] = '000000000000000',
}

local function bitmap_text(f, str, x, y, scale, r, g, b)
  for i = 1, #str do
    local glyph = GLYPHS[str:sub(i, i)] or GLYPHS[' ']
    for gy = 0, 4 do
      for gx = 0, 2 do
        if glyph:sub(gy * 3 + gx + 1, gy * 3 + gx + 1) == '1' then
          C.vs_draw_rect(f, x + (i - 1) * 4 * scale + gx * scale, y + gy * scale, scale, scale, r, g, b, 255)
        end
      end
    end
  end
end

local function bitmap_width(str, scale) return (#str * 4 - 1) * scale end

local function timestamp(t, duration)
  if duration >= 60 then
    return string.format('%d:%05.2f', floor(t / 60), t - 60 * floor(t / 60))
  end
  return string.format('%.2fs', t)
end

-- Draws a label centred in the box (x, y, w, h): TrueType when a font is
-- there, the bitmap font otherwise.
local function label(f, str, x, y, w, h)
  local size = max(8, min(24, h - 4))
  local ok = pcall(function()
    local tw, th = vs.text_size(str, { size = size })
    f:text(str, { x = x + floor((w - tw) / 2), y = y + floor((h - th) / 2), size = size, color = { 230, 230, 230 } })
  end)
  if not ok then
    local scale = max(1, floor((h - 4) / 6))
    bitmap_text(f, str, x + floor((w - bitmap_width(str, scale)) / 2), y + floor((h - 5 * scale) / 2), scale,
                230, 230, 230)
  end
end

-- The frame numbers of a sheet of n: evenly spaced from the first frame.
function M.sheet_frames(clip, n)
  local ks = {}
  for i = 0, n - 1 do ks[#ks + 1] = floor(i * clip.frames / n) end
  return ks
end

local PAD = 4

-- Where the tiles of a sheet go: checks the arguments, returns the tiles {x, y, w, h, frame}, the label strip
-- height and the sheet's size.
local function layout(clip, n, opts)
  if type(n) == 'table' then n, opts = nil, n end
  opts = opts or {}
  if not vs.is_clip(clip) then check.fail('sheet: expected a clip, got %s', type(clip)) end
  if type(opts) ~= 'table' then check.fail('sheet: options must be a table') end
  n = n or 9
  if type(n) ~= 'number' or n < 1 or n % 1 ~= 0 then
    check.fail('sheet: n must be a positive integer, got %s', n)
  end
  n = min(n, clip.frames)
  local cols = opts.columns or ceil(math.sqrt(n))
  if type(cols) ~= 'number' or cols < 1 or cols % 1 ~= 0 then
    check.fail('sheet: columns must be a positive integer, got %s', cols)
  end
  local rows = ceil(n / cols)
  local tw = opts.tile or min(clip.width, 320)
  if opts.width then
    if type(opts.width) ~= 'number' or opts.width < 1 or opts.width % 1 ~= 0 then
      check.fail('sheet: width must be a positive integer, got %s', opts.width)
    end
    tw = floor((opts.width - PAD * (cols + 1)) / cols)
  end
  if type(tw) ~= 'number' or tw < 1 or tw % 1 ~= 0 then
    check.fail('sheet: %d columns of tiles do not fit (tile width %s)', cols, tw)
  end
  local th = max(1, floor(tw * clip.height / clip.width + 0.5))
  local lh = max(12, min(28, floor(th / 5)))
  local tiles = {}
  for i, k in ipairs(M.sheet_frames(clip, n)) do
    local c, r = (i - 1) % cols, floor((i - 1) / cols)
    tiles[i] = { x = PAD + c * (tw + PAD), y = PAD + r * (th + lh + PAD), w = tw, h = th, frame = k }
  end
  -- with a given width the rounding leftovers go to the right margin
  local W = opts.width or (cols * tw + (cols + 1) * PAD)
  local H = rows * (th + lh) + (rows + 1) * PAD
  return tiles, lh, W, H
end

-- sheet(clip[, n][, {width=, tile=, columns=}]) -> frame: n (default 9)
-- evenly spaced frames in a grid, each with its time written under it.
-- width: the whole sheet's width; tile: one tile's width (default the
-- clip's width up to 320). Tiles at the clip's size are exact copies.
function M.sheet(clip, n, opts)
  local tiles, lh, W, H = layout(clip, n, opts)
  local sheet = core.frame(W, H):fill(24, 24, 24, 255)
  for _, tile in ipairs(tiles) do
    local f = clip:frame(tile.frame)
    if f.width ~= tile.w or f.height ~= tile.h then f = f:scaled(tile.w, tile.h) end
    C.vs_frame_copy_region(sheet, tile.x, tile.y, f, 0, 0, tile.w, tile.h)
    label(sheet, timestamp(clip:time_of(tile.frame), clip.duration), tile.x, tile.y + tile.h, tile.w, lh)
  end
  return sheet
end

-- The tiles sheet() draws ({x, y, w, h, frame} each), for tests and tools.
function M.sheet_layout(clip, n, opts)
  local tiles = layout(clip, n, opts)
  return tiles
end

---------------------------------------------------------------- scripts

local function strip(msg)
  msg = tostring(msg)
  return (msg:gsub('^vstudio: ', ''))
end

-- Runs a script file with `arg` set as `luajit script.lua args` would, and
-- returns what it returns; errors carry a short traceback.
function M.run_script(path, args)
  local fn, err = loadfile(path)
  if not fn then
    local f = io.open(path, 'rb')
    if not f then error(path .. ': cannot open the script', 0) end
    f:close()
    error(err, 0)
  end
  local a = { [0] = path }
  for i, v in ipairs(args or {}) do a[i] = v end
  rawset(_G, 'arg', a)
  local res = { xpcall(fn, traceback, unpack(a)) }
  if not res[1] then error(res[2], 0) end
  -- vs.render(clip) at the prompt re-runs this script in its workers: fine
  -- for the very clip it returned (not for one derived from it)
  if vs.is_clip(res[2]) then session.script_clip = { clip = res[2], path = path } end
  return unpack(res, 2, table.maxn(res))
end

-- The clip a script returns or hands to vs.render (which only records it
-- here: the preview is the render).
local function load_clip(path, args)
  session.record_render, session.render_clip = true, nil
  local ok, clip = pcall(M.run_script, path, args)
  session.record_render = false
  if not ok then error(clip, 0) end
  if clip == nil then clip = session.render_clip end
  if not vs.is_clip(clip) then
    error(path .. ': the script must return a clip (it returned ' .. (clip == nil and 'nothing' or type(clip)) .. ')', 0)
  end
  return clip
end

local function scaled_to(f, width)
  if not width or width == f.width then return f end
  return f:scaled(width, max(1, floor(width * f.height / f.width + 0.5)))
end

-- `vstudio preview`: opts = {script=, args=, at=, sheet=, width=, out=};
-- returns a one-line summary or raises the message to print.
function M.preview(opts)
  local clip = load_clip(opts.script, opts.args)
  local f, what
  if opts.sheet then
    f = M.sheet(clip, opts.sheet, { width = opts.width })
    what = string.format('sheet of %d frames', min(opts.sheet, clip.frames))
  else
    local t = opts.at or 0
    if t < 0 or clip:frame_index(t) >= clip.frames then
      error(string.format('%s: --at %g is outside the clip (0 <= t < %g s)', opts.script, t, clip.duration), 0)
    end
    f = scaled_to(clip:frame_at(t), opts.width)
    what = string.format('frame %d at %ss', clip:frame_index(t), timestamp(clip:time_of(clip:frame_index(t)), 0):sub(1, -2))
  end
  local ok, err = pcall(f.save, f, opts.out)
  if not ok then error(strip(err), 0) end
  return string.format('%s: %dx%d, %s of %s', opts.out, f.width, f.height, what, tostring(clip))
end

-- One round of `vstudio run --watch`: a low-resolution frame and a sheet.
-- opts = {script=, args=, at=, width=, sheet=, out=, sheet_out=}.
function M.watch_once(opts)
  local clip = load_clip(opts.script, opts.args)
  local t = opts.at or 0
  if t < 0 or clip:frame_index(t) >= clip.frames then t = 0 end
  local width = opts.width or min(clip.width, 320)
  local f = scaled_to(clip:frame_at(t), width)
  local ok, err = pcall(f.save, f, opts.out)
  if not ok then error(strip(err), 0) end
  local outs = opts.out
  if opts.sheet and opts.sheet > 0 and opts.sheet_out then
    local s = M.sheet(clip, opts.sheet, { tile = max(16, floor(width / 2)) })
    ok, err = pcall(s.save, s, opts.sheet_out)
    if not ok then error(strip(err), 0) end
    outs = outs .. ', ' .. opts.sheet_out
  end
  return string.format('%s (%s)', outs, tostring(clip))
end

-- The REPL's globals: vs, show, sheet (and clip, set by repl.c).
function M.install(env)
  env = env or _G
  env.vs = vs
  env.show = M.show
  env.sheet = M.sheet
end

return M
