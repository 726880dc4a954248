-- render.lua: vs.render(clip, opts) renders a clip from inside a script run
-- by plain luajit (`luajit anim.lua`), with the same engine as `vstudio run`.
--
-- The engine's workers re-run the calling script (with vs.worker = true);
-- there vs.render only records the clip and returns, so the script's
-- top-level code must build the same clip every time. Under `vstudio run`,
-- `vstudio preview` and `run --watch` vs.render also only records the clip
-- (session.record_render) and the command line's options apply.
local ffi = require 'ffi'
local core = require 'vstudio.core'
local check = require 'vstudio.check'
local session = require 'vstudio.session'
local write = require 'vstudio.write'
local C = core.C

local function script_of_caller()
  for level = 3, 8 do
    local info = debug.getinfo(level, 'S')
    if not info then break end
    if info.source:sub(1, 1) == '@' and not check.is_own(info.source) then
      return info.source:sub(2)
    end
  end
end

-- vs.render's options (anything else is a mistake worth naming).
local option_names = {
  out = true, format = true, script = true, frames = true, workers = true, force = true, quiet = true,
  crf = true, preset = true, codec = true, pix_fmt = true, bitrate = true, gop = true, options = true,
  threads = true, alpha = true, audio_codec = true, audio_bitrate = true, audio_rate = true,
  audio_channels = true, no_audio = true, captions = true,
}

local M = {}

function M.install(vs)
  function vs.render(clip, opts)
    if type(clip) ~= 'table' or type(clip.render) ~= 'function' then
      check.fail('render: expected a clip, got %s', type(clip))
    end
    opts = opts or {}
    if type(opts) ~= 'table' then check.fail('render: options must be a table') end
    for k in pairs(opts) do
      if not option_names[k] then check.fail('render: unknown option %s', tostring(k)) end
    end
    if vs.worker or session.record_render then
      session.render_clip = clip
      return clip
    end
    local script = opts.script or script_of_caller()
    local returned = session.script_clip
    if not script and returned and returned.clip == clip then script = returned.path end
    if not script then
      check.fail('render: the clip must come from a script file (workers re-run it and take what it ' ..
                 'returns): use `vstudio run`, call vs.render from a .lua file, or render the clip a script ' ..
                 "returns (vstudio repl anim.lua, then vs.render(clip, {out = 'a.mp4'}))")
    end
    local o = ffi.new('vs_render_options')
    C.vs_render_options_init(o)
    local keep = { script }
    local eo = write.encoder_options(opts.out or '?', {
      crf = opts.crf, preset = opts.preset, codec = opts.codec, pix_fmt = opts.pix_fmt,
      bitrate = opts.bitrate, gop = opts.gop, options = opts.options, threads = opts.threads, alpha = opts.alpha,
      audio_codec = opts.audio_codec, audio_bitrate = opts.audio_bitrate, audio_rate = opts.audio_rate,
      audio_channels = opts.audio_channels,
    })
    keep[#keep + 1] = eo
    o.encoder = eo
    o.script = script
    o.script_ran = 1
    local outs = opts.out or (script:gsub('%.lua$', '') .. '.mp4')
    if type(outs) == 'string' then outs = { outs } end
    local n = #outs
    local out_arr = ffi.new('const char*[?]', n)
    local fmt_arr = ffi.new('const char*[?]', n)
    for i, path in ipairs(outs) do
      out_arr[i - 1] = path
      fmt_arr[i - 1] = opts.format
      keep[#keep + 1] = path
    end
    keep[#keep + 1] = opts.format
    o.outputs, o.formats, o.n_outputs = out_arr, fmt_arr, n
    local args = rawget(_G, 'arg') or {}
    local arg_arr = ffi.new('const char*[?]', #args + 1)
    for i = 1, #args do
      arg_arr[i - 1] = tostring(args[i])
      keep[#keep + 1] = args[i]
    end
    o.args, o.n_args = arg_arr, #args
    if opts.frames then
      local first, last = opts.frames[1], opts.frames[2]
      if type(first) ~= 'number' or type(last) ~= 'number' or first < 0 or last <= first then
        check.fail('render: frames must be {first, end} with 0 <= first < end')
      end
      o.first, o['end'] = first, last
    end
    o.workers = opts.workers or 0
    o.force = opts.force and 1 or 0
    o.no_audio = opts.no_audio and 1 or 0
    if opts.captions ~= nil then
      if type(opts.captions) ~= 'string' then check.fail('render: captions must be a file name') end
      o.captions = opts.captions
      keep[#keep + 1] = opts.captions
    end
    o.progress = opts.quiet and 'VS_PROGRESS_QUIET' or 'VS_PROGRESS_AUTO'
    local rc = C.vs_render(o)
    if rc ~= 0 then check.fail('render: %s', ffi.string(C.vs_last_error())) end
    return clip
  end
end

return M
