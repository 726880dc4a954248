-- segments_spec.lua: a render split into segments (`vstudio run --segment
-- K/N` or `--frames A:B`) and joined by `vstudio concat` decodes to exactly
-- the frames of the single render (lossless, per-frame hashes from the
-- ffmpeg CLI); scripts/render-parallel does the same through GNU parallel.
local helper = require 'helper'
local q = helper.q

local FRAMES = 45

-- Every frame a different flat colour plus a bar as long as its number, so a
-- missing, repeated or reordered frame changes the hashes.
local SCRIPT = [[
local vs = require 'vstudio'
return vs.clip{size = {160, 120}, fps = 30, duration = 1.5, draw = function(frame, t)
  local k = math.floor(t * 30 + 0.5)
  local FAIL_AT = tonumber(os.getenv('FAIL_AT'))
  if FAIL_AT and k == FAIL_AT then error('frame ' .. k .. ' fails on purpose') end
  frame:fill((k * 37) % 256, (k * 59) % 256, (k * 83) % 256, 255)
  for x = 0, k * 3 do frame:set(x % 160, 60 + math.floor(x / 160) * 8, 255, 255, 255, 255) end
end}
]]

local framemd5 = helper.framemd5

local function hashes(path)
  local t = {}
  for i, line in ipairs(framemd5(path)) do t[i] = line:match('(%x+)%s*$') end
  return t
end

local function slice(t, a, b)
  local s = {}
  for i = a + 1, b do s[#s + 1] = t[i] end
  return s
end

-- Frames [a, b) of segment k of n (1-based), as documented for --segment.
local function segment_range(k, n, frames)
  return math.floor((k - 1) * frames / n), math.floor(k * frames / n)
end

local function run_has_segments()
  local out, _, rc = helper.vstudio('run --help')
  return rc == 0 and out:find('--segment', 1, true) ~= nil
end

describe('segment renders', function()
  local dir, script, whole, whole_hashes, ready

  setup(function()
    ready = run_has_segments()
    if not ready then return end
    dir = helper.tmpdir()
    script = dir .. '/frames.lua'
    helper.write_file(script, SCRIPT)
    whole = dir .. '/whole.mp4'
    local _, err, rc = helper.vstudio(('run %s --crf 0 -o %s'):format(q(script), q(whole)))
    assert(rc == 0, err)
    whole_hashes = hashes(whole)
  end)

  teardown(helper.cleanup)

  local function render_segments(n, extra)
    local parts = {}
    for k = 1, n do
      parts[k] = ('%s/seg%d-%d.mp4'):format(dir, n, k)
      local _, err, rc = helper.vstudio(('run %s --segment %d/%d --crf 0 -o %s %s')
        :format(q(script), k, n, q(parts[k]), extra or ''))
      assert.equal(0, rc, err)
    end
    return parts
  end

  local function join(parts, out)
    local quoted = {}
    for i, p in ipairs(parts) do quoted[i] = q(p) end
    local _, err, rc = helper.vstudio(('concat -q %s -o %s'):format(table.concat(quoted, ' '), q(out)))
    assert.equal(0, rc, err)
  end

  it('renders the whole clip as the reference', function()
    if not ready then return pending('vstudio run --segment is not built yet') end
    assert.equal(FRAMES, #whole_hashes)
  end)

  for _, n in ipairs({3, 4}) do
    it(('joins %d lossless segments into exactly the frames and timestamps of the single render'):format(n),
      function()
        if not ready then return pending('vstudio run --segment is not built yet') end
        local parts = render_segments(n)
        local out = dir .. '/joined' .. n .. '.mp4'
        join(parts, out)
        assert.same(framemd5(whole), framemd5(out))
      end)
  end

  it('starts every segment with an IDR frame and gives it the frames of its range', function()
    if not ready then return pending('vstudio run --segment is not built yet') end
    local n = 4
    for k = 1, n do
      local part = ('%s/seg%d-%d.mp4'):format(dir, n, k)
      if not helper.exists(part) then render_segments(n) end
      local a, b = segment_range(k, n, FRAMES)
      assert.same(slice(whole_hashes, a, b), hashes(part))
      local first = helper.sh('ffprobe -v error -select_streams v:0 -read_intervals %+#1 ' ..
        '-show_entries frame=key_frame,pict_type -of csv=p=0 ' .. q(part))
      assert.truthy(first:match('^1,I'), part .. ': first frame ' .. first)
      -- the first access unit holds an IDR slice (NAL unit type 5)
      local hex = helper.sh('ffmpeg -v error -i ' .. q(part) .. ' -c copy -bsf:v h264_mp4toannexb ' ..
        '-frames:v 1 -f h264 - | od -An -tx1 -v')
      local bytes = {}
      for h in hex:gmatch('%x%x') do bytes[#bytes + 1] = tonumber(h, 16) end
      local idr = false
      for i = 3, #bytes - 1 do
        if bytes[i - 2] == 0 and bytes[i - 1] == 0 and bytes[i] == 1 and bytes[i + 1] % 32 == 5 then idr = true end
      end
      assert.is_true(idr, part .. ': the first frame is not an IDR')
    end
  end)

  it('uses the encoder settings, time base and colour tags of the single render', function()
    if not ready then return pending('vstudio run --segment is not built yet') end
    local function stream(path)
      local out = helper.sh('ffprobe -v error -select_streams v:0 -show_data -show_entries ' ..
        'stream=codec_name,profile,level,pix_fmt,width,height,r_frame_rate,time_base,color_range,' ..
        'color_space,color_transfer,color_primaries,chroma_location,extradata ' .. q(path))
      return out
    end
    local part = dir .. '/seg3-2.mp4'
    if not helper.exists(part) then render_segments(3) end
    assert.equal(stream(whole), stream(part))
  end)

  describe('concat checks the segments', function()
    local parts
    local function refused(list, pattern)
      local quoted = {}
      for i, p in ipairs(list) do quoted[i] = q(p) end
      local out = dir .. '/refused.mp4'
      local _, err, rc = helper.vstudio(('concat %s -o %s'):format(table.concat(quoted, ' '), q(out)))
      assert.equal(1, rc, err)
      assert.truthy(err:find(pattern), err)
      assert.is_false(helper.exists(out))
      assert.are.same({}, helper.temporaries_of(out))
    end
    local function name(p) return p:gsub('%p', '%%%0') end

    before_each(function()
      if not ready then return end
      parts = {}
      for k = 1, 4 do
        parts[k] = ('%s/seg4-%d.mp4'):format(dir, k)
        if not helper.exists(parts[k]) then parts = render_segments(4) break end
      end
    end)

    it('refuses a missing segment, naming its frames', function()
      if not ready then return pending('vstudio run --segment is not built yet') end
      -- segment 2/4 of 45 frames is 11:22
      refused({parts[1], parts[3], parts[4]}, '^vstudio: concat: ' .. name(parts[3]) ..
        ': frames 11:22 %(segment 2/4%) are missing before it')
      refused({parts[2], parts[3], parts[4]}, name(parts[2]) .. ': frames 0:11 %(segment 1/4%) are missing')
      refused({parts[1], parts[2], parts[3]}, name(parts[3]) .. ': frames 33:45 %(segment 4/4%) are missing after it')
    end)

    it('refuses a repeated and a misordered segment', function()
      if not ready then return pending('vstudio run --segment is not built yet') end
      refused({parts[1], parts[2], parts[2], parts[3], parts[4]},
        name(parts[2]) .. ': segment 2/4, frames 11:22 again, already given as ' .. name(parts[2]))
      refused({parts[2], parts[1], parts[3], parts[4]}, '^vstudio: concat: ' .. name(parts[2]) ..
        ' %(segment 2/4, frames 11:22%) is out of order: ' .. name(parts[1]) .. ' .* must come before it')
      refused({parts[1], parts[3], parts[2], parts[4]}, name(parts[3]) .. ' %(segment 3/4, frames 22:33%) is out of order')
      -- ranges that overlap (--frames 0:30 and 20:45 of the same render)
      local front, back = dir .. '/front-0-30.mp4', dir .. '/back-20-45.mp4'
      for path, range in pairs({[front] = '0:30', [back] = '20:45'}) do
        local _, err, rc = helper.vstudio(('run %s --frames %s --crf 0 -q -o %s'):format(q(script), range, q(path)))
        assert.equal(0, rc, err)
      end
      refused({front, back}, name(back) .. ' %(frames 20:45%) overlaps ' .. name(front) .. ' %(frames 0:30%)')
    end)

    it('refuses a segment of another render and a whole video among segments', function()
      if not ready then return pending('vstudio run --segment is not built yet') end
      local other = dir .. '/other-2.mp4'
      local _, err, rc = helper.vstudio(('run %s --segment 2/4 --crf 0 -q -o %s -- other'):format(q(script), q(other)))
      assert.equal(0, rc, err)
      refused({parts[1], other, parts[3], parts[4]}, name(other) .. ': a segment of another render than ' .. name(parts[1]))
      refused({whole, parts[1]}, name(whole) .. ': not a segment')
    end)

    it('joins a shell glob of segments in natural order (part-2 before part-10)', function()
      if not ready then return pending('vstudio run --segment is not built yet') end
      local sub = dir .. '/glob'
      os.execute('mkdir -p ' .. q(sub))
      for k = 1, 12 do
        local _, err, rc = helper.vstudio(('run %s --segment %d/12 --crf 0 -q -o %s')
          :format(q(script), k, q(('%s/part-%d.mp4'):format(sub, k))))
        assert.equal(0, rc, err)
      end
      local out = dir .. '/globbed.mp4'
      local _, err, rc = helper.vstudio(('concat -q %s/part-*.mp4 -o %s'):format(q(sub), q(out)))
      assert.equal(0, rc, err)
      assert.same(framemd5(whole), framemd5(out))
    end)

    it('joins a run of segments with --partial, and that join with the rest', function()
      if not ready then return pending('vstudio run --segment is not built yet') end
      local front = dir .. '/front.mp4'
      local _, err, rc = helper.vstudio(('concat -q %s %s -o %s'):format(q(parts[1]), q(parts[2]), q(front)))
      assert.equal(1, rc, err)
      assert.truthy(err:find('--partial', 1, true), err)
      _, err, rc = helper.vstudio(('concat -q --partial %s %s -o %s'):format(q(parts[1]), q(parts[2]), q(front)))
      assert.equal(0, rc, err)
      refused({front, parts[4]}, name(parts[4]) .. ': frames 22:33 %(segment 3/4%) are missing before it')
      local out = dir .. '/front-rest.mp4'
      join({front, parts[3], parts[4]}, out)
      assert.same(framemd5(whole), framemd5(out))
    end)
  end)

  it('renders --frames A:B as frames A..B-1 of the whole', function()
    if not ready then return pending('vstudio run --segment is not built yet') end
    local out = dir .. '/range.mp4'
    local _, err, rc = helper.vstudio(('run %s --frames 7:19 --crf 0 -o %s'):format(q(script), q(out)))
    assert.equal(0, rc, err)
    assert.same(slice(whole_hashes, 7, 19), hashes(out))
  end)

  it('rejects bad --segment values with a usage error and writes nothing', function()
    if not ready then return pending('vstudio run --segment is not built yet') end
    local out = dir .. '/bad.mp4'
    for _, v in ipairs({'0/4', '5/4', '1/0', '2', 'a/b', '1/4/2', '-1/4', ''}) do
      local _, err, rc = helper.vstudio(('run %s --segment %s -o %s'):format(q(script), q(v), q(out)))
      assert.equal(2, rc, v .. ': ' .. err)
      assert.truthy(err:find('--segment', 1, true), err)
      assert.is_false(helper.exists(out))
    end
    -- more segments than frames
    local _, err, rc = helper.vstudio(('run %s --segment 1/%d -o %s'):format(q(script), FRAMES + 1, q(out)))
    assert.is_true(rc ~= 0, err)
    assert.truthy(err:find(script, 1, true), err)
    assert.truthy(err:find(('segment 1/%d is empty: the clip has %d frames'):format(FRAMES + 1, FRAMES), 1, true), err)
    assert.is_false(helper.exists(out))
    assert.are.same({}, helper.temporaries_of(out))
  end)

  describe('scripts/render-parallel', function()
    local function render_parallel(args, env)
      return helper.sh((env or '') .. ' VSTUDIO=' .. q(helper.bin) .. ' sh scripts/render-parallel ' .. args)
    end

    it('renders segments through GNU parallel and joins them into the single render', function()
      if not ready then return pending('vstudio run --segment is not built yet') end
      local out = dir .. '/parallel out.mp4'
      local _, err, rc = render_parallel(('-n 3 -j 2 %s -o %s --crf 0'):format(q(script), q(out)))
      assert.equal(0, rc, err)
      assert.same(framemd5(whole), framemd5(out))
      assert.is_false(helper.exists(out .. '.parts/part-1.mp4'), 'parts are removed after the join')
    end)

    it('stops when a segment fails, leaves no output, and --resume finishes the job', function()
      if not ready then return pending('vstudio run --segment is not built yet') end
      -- frame 40 fails through the environment: the script stays the same render
      local out = dir .. '/failed.mp4'
      local _, err, rc = render_parallel(('-n 3 -j 2 %s -o %s --crf 0'):format(q(script), q(out)), 'FAIL_AT=40')
      assert.equal(1, rc, err)
      assert.truthy(err:find('a segment failed', 1, true), err)
      assert.is_false(helper.exists(out))
      -- the fault gone, --resume: the finished parts are kept, the rest rendered
      _, err, rc = render_parallel(('--resume -n 3 -j 2 %s -o %s --crf 0'):format(q(script), q(out)))
      assert.equal(0, rc, err)
      assert.truthy(err:find('reusing %d finished part'), err)
      assert.same(framemd5(whole), framemd5(out))
    end)
  end)
end)

describe('scripts/render-parallel --print', function()
  it('prints one vstudio run per segment and the concat, numbered from 1', function()
    local out, err, rc = helper.sh('VSTUDIO=/opt/vs/vstudio sh scripts/render-parallel --print -n 3 ' ..
      '"my anim.lua" -o /tmp/out.mp4 --crf 0 -- "a b"')
    assert.equal(0, rc, err)
    local runs = {}
    for k in out:gmatch("'/opt/vs/vstudio' run '[^']*/my anim.lua' %-%-segment (%d)/3 %-o '/tmp/out.mp4.parts/part%-%d.mp4' '%-%-crf' '0' %-%- 'a b'") do
      runs[#runs + 1] = tonumber(k)
    end
    assert.same({1, 2, 3}, runs)
    assert.truthy(out:find("'/opt/vs/vstudio' concat '/tmp/out.mp4.parts/part-1.mp4' " ..
      "'/tmp/out.mp4.parts/part-2.mp4' '/tmp/out.mp4.parts/part-3.mp4' -o '/tmp/out.mp4'", 1, true), out)
  end)

  it('gives the sound\'s codec and bitrate to the join, and the segments an absolute caption file', function()
    local out, err, rc = helper.sh('root=$PWD && cd /tmp && VSTUDIO=/opt/vs/vstudio sh "$root/scripts/render-parallel"' ..
      ' --print -n 2 a.lua -o /tmp/out.mp4 --audio-bitrate 256k --audio-codec=aac --captions subs/a.srt --crf 0')
    assert.equal(0, rc, err)
    for line in out:gmatch('[^\n]+') do
      if line:find(' run ', 1, true) then
        assert.falsy(line:find('audio', 1, true), line)
        assert.truthy(line:find("--captions '/tmp/subs/a.srt'", 1, true), line)
      end
    end
    assert.truthy(out:find("-o '/tmp/out.mp4' --audio-bitrate '256k' '--audio-codec=aac'", 1, true), out)
  end)

  it('refuses --segment and --frames among the run options, and a missing output', function()
    local _, err, rc = helper.sh('sh scripts/render-parallel a.lua -o out.mp4 --frames 0:10')
    assert.equal(2, rc)
    assert.truthy(err:find('chosen by render-parallel', 1, true), err)
    _, err, rc = helper.sh('sh scripts/render-parallel -n 0 a.lua -o out.mp4')
    assert.equal(2, rc)
    _, err, rc = helper.sh('sh scripts/render-parallel a.lua')
    assert.equal(2, rc)
    assert.truthy(err:find('no output', 1, true), err)
  end)
end)
