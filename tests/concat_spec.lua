-- concat_spec.lua: `vstudio concat` joins segments by stream copy. The
-- segments are made by the ffmpeg CLI (the independent oracle) from one
-- test pattern, and the join is checked frame by frame with framemd5.
local helper = require 'helper'
local q = helper.q

-- Per-frame lines of `ffmpeg -f framemd5` (timestamps, size, md5), or the
-- hashes only when hashes_only is set.
local function framemd5(path, hashes_only)
  local out, err, rc = helper.sh('ffmpeg -v error -i ' .. q(path) .. ' -f framemd5 -')
  assert(rc == 0, 'ffmpeg could not decode ' .. path .. ': ' .. err)
  local lines = {}
  for line in out:gmatch('[^\n]+') do
    if not line:match('^#') then
      lines[#lines + 1] = hashes_only and line:match('(%x+)%s*$') or line
    end
  end
  return lines
end

local function concat_lists(...)
  local all = {}
  for _, l in ipairs({...}) do
    for _, v in ipairs(l) do all[#all + 1] = v end
  end
  return all
end

-- Frames [a, b) of a 160x120 test pattern at 30 fps, encoded on its own.
local function segment(dir, name, a, b, extra)
  local path = dir .. '/' .. name
  local _, err, rc = helper.sh(('ffmpeg -v error -y -f lavfi -i testsrc2=s=160x120:r=30 ' ..
    '-vf trim=start_frame=%d:end_frame=%d,setpts=PTS-STARTPTS -c:v libx264 -g 1000 %s %s')
    :format(a, b, extra or '-crf 0', q(path)))
  assert(rc == 0, err)
  return path
end

local function no_output(out)
  return not helper.exists(out) and #helper.temporaries_of(out) == 0
end

describe('vstudio concat', function()
  local dir, whole, a, b, c, ba, bb, bc

  setup(function()
    dir = helper.tmpdir()
    -- lossless, no B-frames: the join must equal the whole encode exactly
    whole = segment(dir, 'whole.mp4', 0, 45)
    a = segment(dir, 'a.mp4', 0, 15)
    b = segment(dir, 'b.mp4', 15, 30)
    c = segment(dir, 'c.mp4', 30, 45)
    -- lossy with B-frames (negative decode timestamps in MP4), odd lengths
    ba = segment(dir, 'ba.mp4', 0, 13, '-crf 23 -bf 3')
    bb = segment(dir, 'bb.mp4', 13, 30, '-crf 23 -bf 3')
    bc = segment(dir, 'bc.mp4', 30, 37, '-crf 23 -bf 3')
  end)

  teardown(helper.cleanup)

  it('prints its usage with --help', function()
    local out, _, rc = helper.vstudio('concat --help')
    assert.equal(0, rc)
    assert.truthy(out:find('Usage: vstudio concat PART... -o OUT', 1, true))
    assert.truthy(out:find('--from LIST', 1, true))
  end)

  it('joins lossless segments into exactly the frames and timestamps of the whole encode', function()
    local out = dir .. '/joined.mp4'
    local _, err, rc = helper.vstudio(('concat %s %s %s -o %s'):format(q(a), q(b), q(c), q(out)))
    assert.equal(0, rc, err)
    assert.truthy(err:find('3 parts, 45 frames', 1, true), err)
    assert.are.same({}, helper.temporaries_of(out))
    assert.same(framemd5(whole), framemd5(out))
    local s = helper.ffprobe_stream(out)
    assert.equal('h264', s.codec_name)
    assert.equal(160, s.width)
    assert.equal('30/1', s.r_frame_rate)
  end)

  it('copies packets without re-encoding', function()
    local out = dir .. '/copied.mp4'
    local _, err, rc = helper.vstudio(('concat -q %s %s -o %s'):format(q(a), q(b), q(out)))
    assert.equal(0, rc, err)
    assert.equal('', err)
    local function packets(path)
      local o = helper.sh('ffprobe -v error -select_streams v:0 -show_entries packet=size,flags ' ..
        '-of csv=p=0 ' .. q(path))
      local t = {}
      for l in o:gmatch('[^\n]+') do t[#t + 1] = l end
      return t
    end
    assert.same(concat_lists(packets(a), packets(b)), packets(out))
  end)

  it('keeps B-frame parts continuous: every timestamp once, frames in the given order', function()
    local out = dir .. '/bframes.mp4'
    local _, err, rc = helper.vstudio(('concat %s %s %s -o %s'):format(q(bc), q(ba), q(bb), q(out)))
    assert.equal(0, rc, err)
    local want = concat_lists(framemd5(bc, true), framemd5(ba, true), framemd5(bb, true))
    assert.same(want, framemd5(out, true))
    -- presentation times 0..36 frames, each exactly once, in the output's time base
    local o = helper.sh('ffprobe -v error -select_streams v:0 -show_entries packet=pts_time,dts_time ' ..
      '-of csv=p=0 ' .. q(out))
    local seen, n, last_dts = {}, 0, -math.huge
    for pts, dts in o:gmatch('([%d%.%-]+),([%d%.%-]+)') do
      local f = math.floor(tonumber(pts) * 30 + 0.5)
      assert.is_nil(seen[f], 'frame time ' .. f .. ' twice')
      seen[f] = true
      n = n + 1
      assert.is_true(tonumber(dts) > last_dts, 'decode times must increase')
      assert.is_true(tonumber(dts) <= tonumber(pts) + 1e-9)
      last_dts = tonumber(dts)
    end
    assert.equal(37, n)
    for f = 0, 36 do assert.is_true(seen[f], 'missing frame time ' .. f) end
  end)

  it('joins Matroska parts (no decode timestamps stored) into MP4', function()
    local parts = {}
    for i, p in ipairs({ba, bb, bc}) do
      parts[i] = dir .. '/m' .. i .. '.mkv'
      local _, err, rc = helper.sh(('ffmpeg -v error -y -i %s -c copy %s'):format(q(p), q(parts[i])))
      assert.equal(0, rc, err)
    end
    local out = dir .. '/frommkv.mp4'
    local _, err, rc = helper.vstudio(('concat %s %s %s -o %s'):format(q(parts[1]), q(parts[2]),
      q(parts[3]), q(out)))
    assert.equal(0, rc, err)
    assert.same(concat_lists(framemd5(ba, true), framemd5(bb, true), framemd5(bc, true)),
      framemd5(out, true))
  end)

  it('reads the parts from a list file with --from', function()
    local list = dir .. '/list.txt'
    helper.write_file(list, '# segments\n' .. a .. '\n\n' .. b .. '\n')
    local out = dir .. '/fromlist.mkv'
    local _, err, rc = helper.vstudio(('concat %s --from %s -o %s'):format(q(c), q(list), q(out)))
    assert.equal(0, rc, err)
    assert.same(concat_lists(framemd5(c, true), framemd5(a, true), framemd5(b, true)),
      framemd5(out, true))
  end)

  it('accepts parts whose x264 thread counts differ (machines with different core counts)', function()
    local t1 = segment(dir, 't1.mp4', 0, 10, '-crf 23 -threads 1')
    local t4 = segment(dir, 't4.mp4', 10, 20, '-crf 23 -threads 4')
    local out = dir .. '/threads.mp4'
    local _, err, rc = helper.vstudio(('concat %s %s -o %s'):format(q(t1), q(t4), q(out)))
    assert.equal(0, rc, err)
    assert.same(concat_lists(framemd5(t1, true), framemd5(t4, true)), framemd5(out, true))
  end)

  describe('refuses parts that differ, naming the part and the first difference', function()
    local cases = {
      {'size', 'testsrc2=s=160x128:r=30', '-crf 0', 'size 160x128 differs from .-%(160x120%)'},
      {'frame rate', 'testsrc2=s=160x120:r=25', '-crf 0', 'frame rate 25/1 differs from .-%(30/1%)'},
      {'pixel format', 'testsrc2=s=160x120:r=30', '-crf 0 -pix_fmt yuv444p', 'pixel format yuv444p differs'},
      {'x264 setting', 'testsrc2=s=160x120:r=30', '-crf 0 -refs 1', 'x264 setting ref=1 differs from .-%(ref=3%)'},
      {'codec', 'testsrc2=s=160x120:r=30', '-c:v mpeg4', 'codec mpeg4 differs from .-%(h264%)'},
    }
    for _, case in ipairs(cases) do
      it(case[1], function()
        local odd = dir .. '/odd-' .. case[1]:gsub(' ', '-') .. '.mp4'
        local _, err, rc = helper.sh(('ffmpeg -v error -y -f lavfi -i %s -frames:v 5 -c:v libx264 -g 1000 %s %s')
          :format(case[2], case[3], q(odd)))
        assert.equal(0, rc, err)
        local out = dir .. '/refused.mp4'
        _, err, rc = helper.vstudio(('concat %s %s %s -o %s'):format(q(a), q(b), q(odd), q(out)))
        assert.equal(1, rc)
        assert.truthy(err:find('^vstudio: concat: ' .. odd:gsub('%p', '%%%0') .. ': ' .. case[4]), err)
        assert.is_true(no_output(out))
      end)
    end
  end)

  it('refuses a part that does not start with a keyframe', function()
    -- drop the first packet (the IDR) with ffmpeg's noise bitstream filter
    local long = segment(dir, 'long.mp4', 0, 30, '-crf 23')
    local tail = dir .. '/tail.mkv'
    local _, err, rc = helper.sh(('ffmpeg -v error -y -i %s -c copy -bsf:v "noise=drop=not(n)" %s')
      :format(q(long), q(tail)))
    assert.equal(0, rc, err)
    local out = dir .. '/nokey.mp4'
    _, err, rc = helper.vstudio(('concat %s %s -o %s'):format(q(a), q(tail), q(out)))
    assert.equal(1, rc)
    assert.truthy(err:find('does not start with a keyframe', 1, true), err)
    assert.is_true(no_output(out))
  end)

  it('reports a missing part, a file without video and a text file, writing nothing', function()
    local out = dir .. '/bad.mp4'
    local audio = dir .. '/tone.m4a'
    local _, err, rc = helper.sh('ffmpeg -v error -y -f lavfi -i sine=d=0.5 ' .. q(audio))
    assert.equal(0, rc, err)
    local text = dir .. '/notes.txt'
    helper.write_file(text, 'not a video\n')
    for _, case in ipairs({
      {dir .. '/missing.mp4', 'No such file or directory'},
      {audio, 'no video stream'},
      {text, 'not a video'},
      {dir, 'not a regular file'},
    }) do
      _, err, rc = helper.vstudio(('concat %s %s -o %s'):format(q(a), q(case[1]), q(out)))
      assert.equal(1, rc, case[1])
      assert.truthy(err:find('vstudio: concat: ' .. case[1] .. ': ' .. case[2], 1, true), err)
      assert.is_true(no_output(out))
    end
  end)

  it('gives usage errors for no parts, no output and unknown options', function()
    local out = dir .. '/usage.mp4'
    local _, err, rc = helper.vstudio('concat -o ' .. q(out))
    assert.equal(2, rc)
    assert.truthy(err:find('no parts to join', 1, true), err)
    _, err, rc = helper.vstudio('concat ' .. q(a))
    assert.equal(2, rc)
    assert.truthy(err:find('no output', 1, true), err)
    _, err, rc = helper.vstudio('concat --frobnicate ' .. q(a) .. ' -o ' .. q(out))
    assert.equal(2, rc)
    assert.truthy(err:find("unknown option '--frobnicate'", 1, true), err)
    assert.is_true(no_output(out))
  end)

  it('refuses to overwrite one of its parts and a name without a container', function()
    local _, err, rc = helper.vstudio(('concat %s %s -o %s'):format(q(a), q(b), q(b)))
    assert.equal(1, rc)
    assert.truthy(err:find('is also part 2', 1, true), err)
    assert.same(framemd5(dir .. '/b.mp4'), framemd5(b))
    _, err, rc = helper.vstudio(('concat %s -o %s'):format(q(a), q(dir .. '/out.xyz')))
    assert.equal(1, rc)
    assert.truthy(err:find('cannot tell the container', 1, true), err)
  end)

  -- The first n bytes of a file, as a transfer cut short would leave it.
  local function cut(src, name, n)
    local data = helper.read_file(src)
    local path = dir .. '/' .. name
    helper.write_file(path, data:sub(1, n < 0 and #data + n or n))
    return path
  end

  it('refuses a part cut short, however little is missing, naming it and the frames lost', function()
    -- moov first (faststart): a cut file still lists every frame in its index
    local whole_b = segment(dir, 'fast-b.mp4', 15, 30, '-crf 0 -movflags +faststart')
    local size = #helper.read_file(whole_b)
    for _, case in ipairs({{'one byte', -1, 1}, {'a third', math.floor(size * 2 / 3)}}) do
      local part = cut(whole_b, 'cut.mp4', case[2])
      local out = dir .. '/cut-join.mp4'
      local _, err, rc = helper.vstudio(('concat %s %s -o %s'):format(q(a), q(part), q(out)))
      assert.equal(1, rc, case[1] .. ': ' .. err)
      assert.truthy(err:find('vstudio: concat: ' .. part .. ': cut short: its index lists 15 frames', 1, true), err)
      local lost = tonumber(err:match('(%d+) frames? %a+ missing'))
      assert.truthy(lost and lost >= (case[3] or 2) and lost < 15, err)
      assert.is_true(no_output(out))
    end
    -- Matroska keeps no sample table: its header's duration tells a cut file
    local mkv = dir .. '/whole-b.mkv'
    local _, err, rc = helper.sh(('ffmpeg -v error -y -i %s -c copy %s'):format(q(whole_b), q(mkv)))
    assert.equal(0, rc, err)
    local part = cut(mkv, 'cut.mkv', math.floor(#helper.read_file(mkv) / 2))
    _, err, rc = helper.vstudio(('concat %s %s -o %s'):format(q(a), q(part), q(dir .. '/cut-join.mp4')))
    assert.equal(1, rc, err)
    assert.truthy(err:find('vstudio: concat: ' .. part .. ': cut short', 1, true), err)
    -- the uncut parts still join
    _, err, rc = helper.vstudio(('concat -q %s %s -o %s'):format(q(a), q(mkv), q(dir .. '/uncut.mp4')))
    assert.equal(0, rc, err)
    assert.equal(30, helper.ffprobe_frames(dir .. '/uncut.mp4'))
  end)

  it('blames the output, not the part it was copying, when the output cannot be written', function()
    local out = dir .. '/limited.mp4'
    local big = segment(dir, 'big.mp4', 0, 90, '-crf 0 -s 320x240')
    -- a file size limit (ulimit -f, 1 KB blocks): writes fail as on a full disk
    local _, err, rc = helper.sh(('ulimit -f 600; %s concat %s %s -o %s'):format(q(helper.bin), q(big), q(big), q(out)))
    assert.equal(1, rc, err)
    assert.truthy(err:find('^vstudio: concat: ' .. out:gsub('%p', '%%%0') .. ': cannot write %(File too large%)'), err)
    assert.is_true(no_output(out))
  end)
end)

-- Segments rendered by vstudio itself: VP9 and MPEG-4 headers do not record
-- quality, so the check relies on the settings vstudio writes into every
-- video stream it encodes.
describe('vstudio concat of vstudio renders', function()
  local dir, script

  local SCRIPT = [[
local vs = require 'vstudio'
return vs.clip{size = {64, 48}, fps = 30, duration = 0.5, draw = function(frame, t)
  local k = math.floor(t * 30 + 0.5)
  frame:fill((k * 37) % 256, (k * 59) % 256, (k * 83) % 256, 255)
end}
]]

  setup(function()
    dir = helper.tmpdir()
    script = dir .. '/tiny.lua'
    helper.write_file(script, SCRIPT)
  end)

  teardown(helper.cleanup)

  local function has_encoder(name)
    local out = helper.sh('ffmpeg -hide_banner -encoders 2>/dev/null')
    return out:find(' ' .. name:gsub('%p', '%%%0') .. ' ') ~= nil
  end

  local function render(name, frames, args)
    local path = dir .. '/' .. name
    local _, err, rc = helper.vstudio(('run %s -q --frames %s %s -o %s'):format(q(script), frames, args, q(path)))
    assert.equal(0, rc, err)
    return path
  end

  local function refused(a, b, out, pattern)
    local _, err, rc = helper.vstudio(('concat %s %s -o %s'):format(q(a), q(b), q(out)))
    assert.equal(1, rc, err)
    assert.truthy(err:find('^vstudio: concat: ' .. b:gsub('%p', '%%%0') .. ': ' .. pattern), err)
    assert.is_true(no_output(out))
    return err
  end

  for _, case in ipairs({
    {'VP9 in WebM', 'webm', '--codec libvpx-vp9', 'libvpx-vp9'},
    {'MPEG-4 in MKV', 'mkv', '--codec mpeg4', 'mpeg4'},
    {'MPEG-4 in MP4', 'mp4', '--codec mpeg4', 'mpeg4'},
    {'H.264 in MOV', 'mov', '--codec libx264', 'libx264'},
  }) do
    local label, ext, codec, encoder = case[1], case[2], case[3], case[4]

    it(label .. ': refuses parts rendered at different crf, naming crf', function()
      if not has_encoder(encoder) then pending(encoder .. ' is not in this ffmpeg') return end
      local a = render('crf20-a.' .. ext, '0:7', codec .. ' --crf 20')
      local b = render('crf40-b.' .. ext, '7:15', codec .. ' --crf 40')
      refused(a, b, dir .. '/crf-mixed.' .. ext,
        'encoder setting crf=40 differs from .-%(crf=20%); parts must be rendered with the same settings')
    end)

    it(label .. ': joins parts with equal settings, all frames kept', function()
      if not has_encoder(encoder) then pending(encoder .. ' is not in this ffmpeg') return end
      local a = render('same-a.' .. ext, '0:7', codec .. ' --crf 20')
      local b = render('same-b.' .. ext, '7:15', codec .. ' --crf 20')
      local out = dir .. '/same.' .. ext
      local _, err, rc = helper.vstudio(('concat %s %s -o %s'):format(q(a), q(b), q(out)))
      assert.equal(0, rc, err)
      assert.equal(helper.ffprobe_frames(a) + helper.ffprobe_frames(b), helper.ffprobe_frames(out))
      assert.equal(15, helper.ffprobe_frames(out))
      assert.are.same({}, helper.temporaries_of(out))
    end)
  end

  it('names the first differing setting: preset before crf, and the codec options', function()
    local a = render('p-a.mp4', '0:7', '--preset fast --crf 20')
    local b = render('p-b.mp4', '7:15', '--preset slow --crf 30')
    refused(a, b, dir .. '/preset.mp4', 'encoder setting preset=slow differs from .-%(preset=fast%)')
  end)

  it('keeps the settings in the joined file, so it can be joined again', function()
    local a = render('again-a.webm', '0:5', '--crf 30')
    local b = render('again-b.webm', '5:10', '--crf 30')
    local c = render('again-c.webm', '10:15', '--crf 30')
    local ab = dir .. '/again-ab.webm'
    local _, err, rc = helper.vstudio(('concat -q --partial %s %s -o %s'):format(q(a), q(b), q(ab)))
    assert.equal(0, rc, err)
    local odd = render('again-odd.webm', '10:15', '--crf 31')
    refused(ab, odd, dir .. '/again-odd-out.webm', 'encoder setting crf=31 differs')
    local out = dir .. '/again-abc.webm'
    _, err, rc = helper.vstudio(('concat -q %s %s -o %s'):format(q(ab), q(c), q(out)))
    assert.equal(0, rc, err)
    assert.equal(15, helper.ffprobe_frames(out))
  end)

  it('x265: names HEVC headers, not H.264, when parts made elsewhere differ', function()
    if not has_encoder('libx265') then pending('libx265 is not in this ffmpeg') return end
    local parts = {}
    for i, crf in ipairs({20, 40}) do
      parts[i] = dir .. '/hevc' .. crf .. '.mp4'
      local _, err, rc = helper.sh(('ffmpeg -v error -y -f lavfi -i testsrc2=s=64x48:r=30 -frames:v 5 ' ..
        '-c:v libx265 -x265-params log-level=error -crf %d %s'):format(crf, q(parts[i])))
      assert.equal(0, rc, err)
    end
    local err = refused(parts[1], parts[2], dir .. '/hevc.mp4', 'encoder headers %(extradata: HEVC VPS/SPS/PPS%)')
    assert.falsy(err:find('H.264', 1, true), err)
    -- rendered by vstudio, the recorded settings name the difference first
    local a = render('x265-a.mp4', '0:7', '--codec libx265 --crf 20')
    local b = render('x265-b.mp4', '7:15', '--codec libx265 --crf 40')
    refused(a, b, dir .. '/x265.mp4', 'encoder setting crf=40 differs from .-%(crf=20%)')
  end)
end)
