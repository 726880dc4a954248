local vs = require 'vstudio'
local helper = require 'tests.helper'

local W, H = 320, 180

-- Pixels with any alpha (a caption clip is transparent elsewhere).
local function drawn(f)
  local n = 0
  for y = 0, f.height - 1 do
    for x = 0, f.width - 1 do
      local _, _, _, a = f:get(x, y)
      if a > 0 then n = n + 1 end
    end
  end
  return n
end

-- The frames of a clip that show anything, as a sorted list of numbers.
local function shown_frames(c)
  local list = {}
  for k = 0, c.frames - 1 do
    if drawn(c:frame(k)) > 0 then list[#list + 1] = k end
  end
  return list
end

local function range(a, b)
  local t = {}
  for k = a, b do t[#t + 1] = k end
  return t
end

-- Bright (caption white) pixels of an RGBA byte string in rows y0..y1.
local function bright(rgba, y0, y1)
  local n = 0
  for y = y0, y1 do
    for x = 0, W - 1 do
      local i = (y * W + x) * 4 + 1
      local r, g, b = rgba:byte(i, i + 2)
      if r > 150 and g > 150 and b > 150 then n = n + 1 end
    end
  end
  return n
end

describe('captions', function()
  local dir
  before_each(function() dir = helper.tmpdir() end)
  after_each(function() helper.cleanup() end)

  local function file(name, text)
    local path = dir .. '/' .. name
    helper.write_file(path, text)
    return path
  end

  local srt = '1\n00:00:01,000 --> 00:00:02,500\nHello <i>world</i>\nsecond line\n\n' ..
              '2\n00:00:03,000 --> 00:00:03,040\nshort\n'

  it('shows a cue from 1.000 to 2.500 s on exactly the frames starting in [1.0, 2.5)', function()
    local c = vs.captions(file('a.srt', srt), { size = { W, H }, fps = 30, duration = 4 })
    assert.are.equal(120, c.frames)
    assert.are.equal(2, c.cues)
    local want = range(30, 74)
    want[#want + 1] = 90 -- 3.000 <= t < 3.040: frames 90 (3.000) and 91 (3.033)
    want[#want + 1] = 91
    assert.are.same(want, shown_frames(c))
    -- 3.000-3.040 at 25 fps: frame 75 (3.00) only, not 76 (3.04)
    local c25 = vs.captions(dir .. '/a.srt', { size = { W, H }, fps = 25, duration = 4 })
    local shown = shown_frames(c25)
    assert.are.equal(75, shown[#shown])
    assert.are.equal(25, shown[1])
    assert.are.equal(62, shown[#shown - 1]) -- 2.48 s is in, 2.52 s is not
  end)

  it('follows speed(2), trim and sequence like any clip', function()
    local c = vs.captions(file('a.srt', srt), { size = { W, H }, fps = 30, duration = 3 })
    -- output frame j shows source frame 2j: [30, 74] -> j in [15, 37]
    assert.are.same(range(15, 37), shown_frames(c:speed(2)))
    -- trim from 0.5 s: frame j is source j + 15
    assert.are.same(range(15, 59), shown_frames(c:trim(0.5, 3)))
    local seq = vs.sequence { vs.color { 0, 0, 0, 0, size = { W, H }, duration = 1 }, c }
    local shown = shown_frames(seq)
    assert.are.equal(60, shown[1])
    assert.are.equal(104, shown[#shown])
  end)

  it('reads WebVTT: header, NOTE and STYLE blocks skipped, cue settings, BOM and CRLF', function()
    local vtt = '\239\187\191WEBVTT - captions\r\nKind: captions\r\n\r\n' ..
                'NOTE this is a comment\r\nwith --> an arrow\r\n\r\n' ..
                'STYLE\r\n::cue { color: red }\r\n\r\n' ..
                'intro\r\n00:01.000 --> 00:02.500 align:center line:90%\r\n<v Ann>Hello &amp; <b>bye</b>\r\n\r\n' ..
                '00:00:03.000 --> 00:00:03.040\r\nshort\r\n'
    local c = vs.captions(file('a.vtt', vtt), { size = { W, H }, fps = 30, duration = 4 })
    assert.are.equal(2, c.cues)
    local want = range(30, 74)
    want[#want + 1] = 90
    want[#want + 1] = 91
    assert.are.same(want, shown_frames(c))
  end)

  it('reads ASS scripts with their own styles and times', function()
    local ass = '[Script Info]\nScriptType: v4.00+\nPlayResX: 320\nPlayResY: 180\n\n[V4+ Styles]\n' ..
      'Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, ' ..
      'Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, ' ..
      'MarginL, MarginR, MarginV, Encoding\n' ..
      'Style: Top,DejaVu Sans,24,&H000000FF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,1,0,8,10,10,10,1\n\n' ..
      '[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n' ..
      'Dialogue: 0,0:00:00.50,0:00:01.00,Top,,0,0,0,,Red on top\n'
    local c = vs.captions(file('a.ass', ass), { size = { W, H }, fps = 10, duration = 2 })
    assert.are.same(range(5, 9), shown_frames(c))
    local f = c:frame(6)
    local top, bottom, red = 0, 0, 0
    for y = 0, H - 1 do
      for x = 0, W - 1 do
        local r, g, b, a = f:get(x, y)
        if a > 0 then
          if y < H / 2 then top = top + 1 else bottom = bottom + 1 end
          if r > 200 and g < 60 and b < 60 and a == 255 then red = red + 1 end
        end
      end
    end
    assert.is_true(top > 50 and bottom == 0, 'top ' .. top .. ' bottom ' .. bottom)
    assert.is_true(red > 20, 'red pixels: ' .. red)
  end)

  it('takes style options: position, colour, outline, size', function()
    local path = file('a.srt', srt)
    local function box(style)
      style.size, style.fps, style.duration = { W, H }, 30, 3
      local f = vs.captions(path, style):frame(40)
      local miny, maxy, colour = 1e9, -1, 0
      for y = 0, H - 1 do
        for x = 0, W - 1 do
          local r, g, b, a = f:get(x, y)
          if a > 0 then miny, maxy = math.min(miny, y), math.max(maxy, y) end
          if a == 255 and g > 200 and r < 60 and b < 60 then colour = colour + 1 end
        end
      end
      return miny, maxy, colour
    end
    local miny, maxy = box {}
    assert.is_true(miny > H / 2 and maxy <= H - 9, 'bottom with a margin: ' .. miny .. '..' .. maxy)
    local tminy, tmaxy, green = box { position = 'top', color = { 0, 255, 0 }, margin = 20 }
    assert.is_true(tminy >= 18 and tmaxy < H / 2, 'top: ' .. tminy .. '..' .. tmaxy)
    assert.is_true(green > 20, 'green pixels: ' .. green)
    local bminy, bmaxy = box { font_size = 30, outline = 0 }
    assert.is_true(bmaxy - bminy > maxy - miny, 'larger font, taller box')
    assert.has_error(function() vs.captions(path, { position = 'left' }) end)
    assert.has_error(function() vs.captions(path, { colour = 'red' }) end)
  end)

  describe('malformed files name the file and the line', function()
    local cases = {
      { 'bad.srt', '1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 -> 00:00:04,000\nbad\n', ':6: bad cue timing' },
      { 'swap.srt', '1\n00:00:02,000 --> 00:00:01,000\nbackwards\n', ':2: the cue ends before it starts' },
      { 'junk.srt', '1\n00:00:01,000 --> 00:00:02,000\nok\n\nnot a number\n', ':5: expected a cue number' },
      { 'ms.srt', '1\n00:00:01,5 --> 00:00:02,000\nok\n', ':2: bad cue timing' },
      { 'minutes.srt', '1\n00:61:01,000 --> 00:62:02,000\nok\n', ':2: bad cue timing' },
      { 'head.vtt', 'WEBVT\n\n00:01.000 --> 00:02.000\nx\n', ':1: a WebVTT file starts with' },
      { 'bad.vtt', 'WEBVTT\n\nid\n00:01,000 --> 00:02.000\nx\n', ':4: bad cue timing' },
      { 'empty.srt', '\n\n', ': no cues' },
    }
    for _, case in ipairs(cases) do
      it(case[1], function()
        local path = file(case[1], case[2])
        local ok, err = pcall(vs.captions, path, { size = { W, H } })
        assert.is_false(ok)
        assert.is_truthy(err:find(case[1] .. case[3], 1, true), err)
      end)
    end

    it('on the command line: vstudio: run: FILE:LINE: why, nothing written', function()
      local script = file('s.lua', "local vs = require 'vstudio'\nreturn vs.color{0, 0, 0, size = {64, 64}, duration = 1}\n")
      local bad = file('bad.srt', cases[1][2])
      local _, err, rc = helper.vstudio('run ' .. helper.q(script) .. ' -o ' .. helper.q(dir .. '/o.mp4') ..
                                        ' --captions ' .. helper.q(bad))
      assert.are.equal(1, rc)
      assert.is_truthy(err:find('vstudio: run: ' .. bad .. ':6: bad cue timing', 1, true), err)
      assert.is_false(helper.exists(dir .. '/o.mp4'))
      local _, err2, rc2 = helper.vstudio('run ' .. helper.q(script) .. ' -o ' .. helper.q(dir .. '/o.mp4') ..
                                          ' --captions ' .. helper.q(dir .. '/missing.srt'))
      assert.are.equal(1, rc2)
      assert.is_truthy(err2:find('missing.srt: cannot open', 1, true), err2)
      local _, err3, rc3 = helper.vstudio('run ' .. helper.q(script) .. ' --watch --captions ' .. helper.q(bad))
      assert.are.equal(2, rc3)
      assert.is_truthy(err3:find('--captions is not for --watch', 1, true), err3)
    end)
  end)

  -- Runs vstudio with args and --captions, returns the output's frames as RGBA strings.
  local function burnt(args, out, captions)
    local _, err, rc = helper.vstudio(args .. ' -o ' .. helper.q(out) .. ' -q --captions ' .. helper.q(captions))
    assert.are.equal(0, rc, err)
    return helper.ffmpeg_rgba_frames(out, W, H)
  end

  it('vstudio run --captions burns cues onto the frames where they are, and only there', function()
    local script = file('g.lua', "local vs = require 'vstudio'\n" ..
      "return vs.clip{size = {320, 180}, fps = 30, duration = 4, draw = function(f, t) f:fill(30, 40, 90) end}\n")
    local frames = burnt('run ' .. helper.q(script) .. ' --workers 2', dir .. '/burnt.mp4', file('a.srt', srt))
    assert.are.equal(120, #frames)
    for _, k in ipairs { 30, 50, 74 } do
      assert.is_true(bright(frames[k + 1], H / 2, H - 1) > 60, 'caption on frame ' .. k)
      assert.are.equal(0, bright(frames[k + 1], 0, H / 2 - 1), 'nothing in the top half of frame ' .. k)
    end
    for _, k in ipairs { 0, 29, 75, 89, 92, 119 } do
      assert.are.equal(0, bright(frames[k + 1], 0, H - 1), 'no caption on frame ' .. k)
    end
    assert.is_true(bright(frames[91], H / 2, H - 1) > 10, 'the 40 ms cue on frame 90')
  end)

  it('vstudio run --captions keeps the clip\'s sound', function()
    local script = file('s.lua', "local vs = require 'vstudio'\n" ..
      "local c = vs.clip{size = {320, 180}, fps = 30, duration = 3, draw = function(f, t) f:fill(30, 40, 90) end}\n" ..
      "return c:with_audio(vs.tone{freq = 440, duration = 3, volume = 0.5})\n")
    local out = dir .. '/sound.mp4'
    burnt('run ' .. helper.q(script), out, file('a.srt', srt))
    local a = helper.ffprobe_stream(out, 'a:0')
    assert.are.equal('aac', a.codec_name)
    assert.is_true(math.abs(tonumber(a.duration) - 3) < 0.05, a.duration)
  end)

  it('vstudio convert --captions burns them onto a frame folder', function()
    local frames_dir = dir .. '/shots'
    helper.sh('mkdir -p ' .. helper.q(frames_dir) .. ' && ffmpeg -v error -f lavfi -i color=c=0x203050:s=320x180:r=30 ' ..
              '-frames:v 90 ' .. helper.q(frames_dir .. '/f%03d.png'))
    local frames = burnt('convert ' .. helper.q(frames_dir), dir .. '/conv.mp4', file('a.srt', srt))
    assert.are.equal(90, #frames)
    assert.are.equal(0, bright(frames[30], 0, H - 1))  -- frame 29
    assert.is_true(bright(frames[31], H / 2, H - 1) > 60) -- frame 30
    assert.is_true(bright(frames[75], H / 2, H - 1) > 60) -- frame 74
    assert.are.equal(0, bright(frames[76], 0, H - 1))  -- frame 75
    -- an edited caption file is another video: the rerun converts again instead of skipping
    local caps = file('b.srt', srt)
    local convert = 'convert ' .. helper.q(frames_dir) .. ' -o ' .. helper.q(dir .. '/conv.mp4') .. ' --captions ' ..
                    helper.q(caps)
    local _, err1, rc1 = helper.vstudio(convert)
    assert.are.equal(0, rc1, err1)
    _, err1, rc1 = helper.vstudio(convert)
    assert.are.equal(0, rc1, err1)
    assert.is_truthy(err1:find('0 converted, 1 up to date', 1, true), err1)
    helper.write_file(caps, (srt:gsub('00:00:01,000', '00:00:00,000')))
    _, err1, rc1 = helper.vstudio(convert)
    assert.are.equal(0, rc1, err1)
    assert.is_truthy(err1:find('1 converted, 0 up to date', 1, true), err1)
    assert.is_true(bright(helper.ffmpeg_rgba_frames(dir .. '/conv.mp4', W, H)[2], H / 2, H - 1) > 60, 'the edited cue')
    local _, err2, rc2 = helper.vstudio('convert ' .. helper.q(frames_dir) .. ' -o ' .. helper.q(dir .. '/c2.mp4') ..
                                        ' --captions ' .. helper.q(file('swap.srt', '1\n00:00:02,000 --> 00:00:01,000\nx\n')))
    assert.are.equal(1, rc2)
    assert.is_truthy(err2:find('vstudio: convert: ' .. dir .. '/swap.srt:2: the cue ends before it starts', 1, true), err2)
  end)
end)
