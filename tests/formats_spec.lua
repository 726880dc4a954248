local helper = require 'tests.helper'

local W, H = 160, 90

-- A 1 s clip on a transparent canvas: an opaque orange square moving, a
-- half-transparent blue bar, nothing at the top-left corner.
local script_text = [[
local vs = require 'vstudio'
local fps = tonumber(arg[1] or '10')
return vs.clip{size = {160, 90}, fps = fps, duration = 1, draw = function(f, t)
  f:fill(0, 0, 0, 0)
  f:rect{x = 20 + t * 50, y = 20, w = 40, h = 40, color = {255, 100, 0, 255}}
  f:rect{x = 100, y = 10, w = 40, h = 70, color = {0, 100, 255, 128}}
end}
]]

-- RGBA of pixel (x, y) of a decoded frame string.
local function px(frame, x, y)
  local i = (y * W + x) * 4 + 1
  return frame:byte(i, i + 3)
end

local function decode_rgba(path, decoder)
  local out, err, rc = helper.sh('ffmpeg -v error ' .. (decoder and ('-c:v ' .. decoder .. ' ') or '') .. '-i ' ..
                                 helper.q(path) .. ' -f rawvideo -pix_fmt rgba -')
  assert.are.equal(0, rc, err)
  local size, frames = W * H * 4, {}
  for i = 1, #out - size + 1, size do frames[#frames + 1] = out:sub(i, i + size - 1) end
  return frames
end

-- The alpha a format promised to keep in frame k (0-based, 10 fps):
-- transparent corner, opaque square, the bar half.
local function assert_alpha(frame, k)
  local _, _, _, corner = px(frame, 5, 5)
  local r, _, _, square = px(frame, 30 + 5 * (k or 0), 30)
  local _, _, b, bar = px(frame, 120, 40)
  assert.are.equal(0, corner)
  assert.are.equal(255, square)
  assert.is_true(r > 240, 'square red ' .. r)
  assert.is_true(bar >= 120 and bar <= 136, 'bar alpha ' .. bar)
  assert.is_true(b > 240, 'bar blue ' .. b)
end

describe('formats by extension', function()
  local dir, script
  before_each(function()
    dir = helper.tmpdir()
    script = dir .. '/clip.lua'
    helper.write_file(script, script_text)
  end)
  after_each(function() helper.cleanup() end)

  local function run(out, extra)
    return helper.vstudio('run ' .. helper.q(script) .. ' -o ' .. helper.q(out) .. ' -q ' .. (extra or ''))
  end

  local function packets(path)
    local out = helper.sh('ffprobe -v error -select_streams v:0 -show_entries packet=pts,duration -of csv=p=0 ' ..
                          helper.q(path))
    local list = {}
    for pts, dur in out:gmatch('(%d+),(%d+)') do list[#list + 1] = { tonumber(pts), tonumber(dur) } end
    return list
  end

  it('.gif is GIF without --codec, every frame there, timed in centiseconds', function()
    local out = dir .. '/a.gif'
    local _, err, rc = run(out)
    assert.are.equal(0, rc, err)
    assert.are.equal('gif', helper.ffprobe_stream(out).codec_name)
    assert.are.equal(10, helper.ffprobe_frames(out))
    local p = packets(out)
    assert.are.equal(10, #p)
    for k, pkt in ipairs(p) do
      assert.are.same({ (k - 1) * 10, 10 }, pkt) -- 10 fps: 10 cs each, from 0
    end
    -- 30 fps: 3.33 cs a frame, each frame starting at its time rounded to the centisecond
    local _, err2, rc2 = helper.vstudio('run ' .. helper.q(script) .. ' -o ' .. helper.q(dir .. '/b.gif') .. ' -q -- 30')
    assert.are.equal(0, rc2, err2)
    p = packets(dir .. '/b.gif')
    assert.are.equal(30, #p)
    for k, pkt in ipairs(p) do
      assert.are.equal(math.floor((k - 1) * 100 / 30 + 0.5), pkt[1])
      assert.is_true(pkt[2] == 3 or pkt[2] == 4, 'duration ' .. pkt[2])
    end
    -- GIF transparency is one bit: the corner is transparent, the square opaque
    local frames = decode_rgba(out)
    local _, _, _, corner = px(frames[1], 5, 5)
    local _, _, _, square = px(frames[1], 30, 30)
    assert.are.equal(0, corner)
    assert.are.equal(255, square)
  end)

  it('a clip with sound makes a silent .gif, .apng and .webp and the summary says so', function()
    local sound_script = dir .. '/sound.lua'
    helper.write_file(sound_script, "local vs = require 'vstudio'\n" ..
      "return vs.color{30, 60, 90, size = {64, 48}, duration = 1}:with_audio(vs.tone{freq = 440, duration = 1})\n")
    for _, ext in ipairs { 'gif', 'apng', 'webp' } do
      local out = dir .. '/s.' .. ext
      local _, err, rc = helper.vstudio('run ' .. helper.q(sound_script) .. ' -o ' .. helper.q(out))
      assert.are.equal(0, rc, err)
      assert.is_truthy(err:find('the clip has sound, but ' .. out .. ' carries none', 1, true), err)
      assert.are.equal('', helper.sh('ffprobe -v error -select_streams a -show_entries stream=index -of csv=p=0 ' ..
                                     helper.q(out)))
    end
    -- vs.write asked for sound in a GIF: the encoder says why, and nothing is written
    local vs = require 'vstudio'
    local w = vs.write(dir .. '/w.gif', { audio = vs.tone{ freq = 440, duration = 1 } })
    local ok, why = pcall(w.push, w, vs.frame(64, 48))
    assert.is_false(ok)
    assert.is_truthy(tostring(why):find(dir .. '/w.gif: the gif format carries no sound', 1, true), why)
    assert.is_false(helper.exists(dir .. '/w.gif'))
  end)

  it('GIF palettes (libimagequant, per frame) beat ffmpeg palettegen/paletteuse in PSNR', function()
    local src = dir .. '/src'
    helper.sh('mkdir -p ' .. helper.q(src))
    local _, err = helper.sh('ffmpeg -v error -f lavfi -i gradients=s=320x180:r=10:speed=0.05:seed=1 -f lavfi ' ..
      '-i testsrc2=s=320x180:r=10 -filter_complex "[0][1]blend=all_mode=average,format=rgb24" -frames:v 20 ' ..
      helper.q(src .. '/f%03d.png'))
    assert.is_true(helper.exists(src .. '/f020.png'), err)
    local ours, theirs = dir .. '/ours.gif', dir .. '/theirs.gif'
    local _, err2, rc = helper.vstudio('convert ' .. helper.q(src) .. ' -o ' .. helper.q(ours) .. ' --fps 10 -q')
    assert.are.equal(0, rc, err2)
    helper.sh('ffmpeg -v error -framerate 10 -i ' .. helper.q(src .. '/f%03d.png') ..
              ' -vf "split[a][b];[a]palettegen[p];[b][p]paletteuse" ' .. helper.q(theirs))
    local function psnr(gif)
      local _, log = helper.sh('ffmpeg -framerate 10 -i ' .. helper.q(src .. '/f%03d.png') .. ' -i ' .. helper.q(gif) ..
        ' -lavfi "[0]format=rgb24[a];[1]format=rgb24[b];[a][b]psnr" -f null -')
      return tonumber(log:match('average:([%d%.]+)'))
    end
    assert.are.equal(20, helper.ffprobe_frames(ours))
    local a, b = psnr(ours), psnr(theirs)
    assert.is_truthy(a and b)
    assert.is_true(a >= b, string.format('ours %.2f dB, palettegen/paletteuse %.2f dB', a, b))
  end)

  it('.webm is VP9; with --alpha yuva420p and the alpha plane decodes', function()
    local plain, alpha = dir .. '/a.webm', dir .. '/b.webm'
    assert.are.equal(0, select(3, run(plain)))
    local s = helper.ffprobe_stream(plain)
    assert.are.equal('vp9', s.codec_name)
    assert.are.equal(10, helper.ffprobe_frames(plain))
    local _, _, _, a = px(decode_rgba(plain, 'libvpx-vp9')[1], 5, 5)
    assert.are.equal(255, a) -- no alpha without --alpha: over black
    local _, err, rc = run(alpha, '--alpha')
    assert.are.equal(0, rc, err)
    local tags = helper.sh('ffprobe -v error -show_entries stream_tags=alpha_mode -of csv=p=0 ' .. helper.q(alpha))
    assert.is_truthy(tags:find('1'), tags)
    local frames = decode_rgba(alpha, 'libvpx-vp9')
    assert.are.equal(10, #frames)
    assert_alpha(frames[1])
    assert_alpha(frames[10], 9)
  end)

  it('.mov with --codec prores is ProRes 4444 with alpha', function()
    local out = dir .. '/a.mov'
    local _, err, rc = run(out, '--codec prores')
    assert.are.equal(0, rc, err)
    local s = helper.ffprobe_stream(out)
    assert.are.equal('prores', s.codec_name)
    assert.are.equal('4444', tostring(s.profile))
    assert.is_truthy(tostring(s.pix_fmt):match('^yuva444p'), s.pix_fmt)
    local frames = decode_rgba(out)
    assert.are.equal(10, #frames)
    assert_alpha(frames[1])
  end)

  it('.apng is APNG with alpha', function()
    local out = dir .. '/a.apng'
    local _, err, rc = run(out)
    assert.are.equal(0, rc, err)
    assert.are.equal('apng', helper.ffprobe_stream(out).codec_name)
    local frames = decode_rgba(out)
    assert.are.equal(10, #frames)
    assert_alpha(frames[1])
    assert_alpha(frames[10], 9)
  end)

  -- The chunks of a RIFF WebP file: {fourcc, payload} (ffmpeg 5 cannot decode animated WebP).
  local function riff_chunks(data, from, to, list)
    list = list or {}
    local i = from
    while i + 8 <= to do
      local a, b, c, d = data:byte(i + 4, i + 7)
      local n = a + b * 256 + c * 65536 + d * 16777216
      list[#list + 1] = { data:sub(i, i + 3), data:sub(i + 8, i + 7 + n) }
      i = i + 8 + n + n % 2
    end
    return list
  end

  local function le(n, bytes)
    local t = {}
    for i = 1, bytes do t[i] = string.char(math.floor(n / 256 ^ (i - 1)) % 256) end
    return table.concat(t)
  end

  -- The first frame of an animation (its own rectangle of the canvas) as
  -- a still WebP, which ffmpeg decodes; and its size.
  local function first_frame_still(anmf)
    local w = anmf:byte(7) + anmf:byte(8) * 256 + 1
    local h = anmf:byte(10) + anmf:byte(11) * 256 + 1
    local sub = anmf:sub(17)
    local header = 'VP8X' .. le(10, 4) .. '\16\0\0\0' .. le(w - 1, 3) .. le(h - 1, 3)
    return 'RIFF' .. le(4 + #header + #sub, 4) .. 'WEBP' .. header .. sub, w, h
  end

  it('.webp is animated WebP: a frame per clip frame, durations in ms, alpha with --alpha', function()
    for _, case in ipairs { { 'a.webp', '', 255 }, { 'b.webp', '--alpha', 0 } } do -- the corner's alpha
      local out = dir .. '/' .. case[1]
      local _, err, rc = run(out, case[2])
      assert.are.equal(0, rc, err)
      local data = helper.read_file(out)
      assert.are.equal('RIFF', data:sub(1, 4))
      assert.are.equal('WEBP', data:sub(9, 12))
      local frames, total, first = 0, 0, nil
      local kinds = {}
      for _, chunk in ipairs(riff_chunks(data, 13, #data)) do
        kinds[chunk[1]] = true
        if chunk[1] == 'ANMF' then
          frames = frames + 1
          local p = chunk[2]
          total = total + p:byte(13) + p:byte(14) * 256 + p:byte(15) * 65536
          first = first or p
        end
      end
      assert.is_true(kinds.ANIM, 'an animation')
      assert.are.equal(10, frames)
      assert.are.equal(1000, total)
      local still, w, h = first_frame_still(first)
      helper.write_file(dir .. '/first.webp', still)
      local pixels = helper.sh('ffmpeg -v error -i ' .. helper.q(dir .. '/first.webp') .. ' -f rawvideo -pix_fmt rgba -')
      assert.are.equal(w * h * 4, #pixels)
      local seen = {}
      for i = 4, #pixels, 4 do
        local a = pixels:byte(i)
        seen[a == 0 and 'clear' or a == 255 and 'opaque' or (a >= 120 and a <= 136) and 'half' or 'other'] = true
      end
      if case[3] == 0 then
        assert.is_true(seen.clear and seen.opaque and seen.half and not seen.other, case[1] .. ': alpha kept')
      else
        assert.are.same({ opaque = true }, seen, case[1] .. ': no alpha without --alpha')
      end
    end
  end)

  it('--alpha with a codec that has none is an error, and nothing is written', function()
    local out = dir .. '/a.mp4'
    local _, err, rc = run(out, '--alpha')
    assert.are.equal(1, rc)
    assert.is_truthy(err:find('codec libx264 cannot keep transparency', 1, true), err)
    assert.is_false(helper.exists(out))
    local _, err2, rc2 = run('-', '--alpha')
    assert.are.equal(1, rc2)
    assert.is_truthy(err2:find('y4m cannot keep transparency', 1, true), err2)
  end)

  it('examples/title_card.lua exports a GIF with its title and captions', function()
    local out = dir .. '/card.gif'
    local _, err, rc = helper.vstudio('run examples/title_card.lua -q --frames 0:25 -o ' .. helper.q(out))
    assert.are.equal(0, rc, err)
    assert.are.equal('gif', helper.ffprobe_stream(out).codec_name)
    assert.are.equal(25, helper.ffprobe_frames(out))
    local size = 480 * 270 * 4
    local all = helper.sh('ffmpeg -v error -i ' .. helper.q(out) .. ' -f rawvideo -pix_fmt rgba -')
    -- warm caption text (255, 240, 200) in the bottom quarter: from frame 15 (1.0 s) on, not before
    local function caption_pixels(k)
      local n = 0
      for y = 200, 269 do
        for x = 0, 479 do
          local i = k * size + (y * 480 + x) * 4 + 1
          local r, g, b = all:byte(i, i + 2)
          if r > 220 and g > 200 and b > 150 and b < 235 then n = n + 1 end
        end
      end
      return n
    end
    assert.are.equal(0, caption_pixels(14))
    assert.is_true(caption_pixels(15) > 200, 'caption pixels on frame 15: ' .. caption_pixels(15))
  end)

  it('vs.write takes alpha = true', function()
    local vs = require 'vstudio'
    local out = dir .. '/w.webm'
    local w = vs.write(out, { fps = 10, alpha = true })
    for _ = 1, 3 do
      local f = vs.frame(W, H):fill(0, 0, 0, 0)
      f:rect { x = 20, y = 20, w = 40, h = 40, color = { 255, 100, 0, 255 } }
      f:rect { x = 100, y = 10, w = 40, h = 70, color = { 0, 100, 255, 128 } }
      w:push(f)
    end
    w:close()
    assert_alpha(decode_rgba(out, 'libvpx-vp9')[1])
  end)
end)
