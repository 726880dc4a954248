-- convert_spec.lua: `vstudio convert` end to end. Frames are flat grey
-- levels that encode the frame's intended position, so decoding the output
-- with the ffmpeg CLI (the independent oracle) tells the order back.
local vs = require 'vstudio'
local helper = require 'helper'
local q = helper.q

local W, H = 64, 48

local function level(k) return 10 + k * 18 end -- k = 0..12

local function flat(path, g, a)
  vs.frame(W, H):fill(g, g, g, a or 255):save(path)
end

-- The grey level of each decoded frame (centre pixel, red channel).
local function levels(video, w, h)
  local out = {}
  for _, f in ipairs(helper.ffmpeg_rgba_frames(video, w or W, h or H)) do
    local i = ((math.floor((h or H) / 2)) * (w or W) + math.floor((w or W) / 2)) * 4
    out[#out + 1] = f:byte(i + 1)
  end
  return out
end

-- Position k of each level (nearest), so assertions read as orders.
local function order_of(video)
  local ks = {}
  for i, g in ipairs(levels(video)) do ks[i] = math.floor((g - 10) / 18 + 0.5) end
  return ks
end

local function convert(args)
  return helper.vstudio('convert ' .. args)
end

describe('vstudio convert', function()
  local dir
  before_each(function() dir = helper.tmpdir() end)
  after_each(helper.cleanup)

  it('orders frame_2 before frame_10 (natural sort) and says what it did', function()
    os.execute('mkdir ' .. q(dir .. '/f'))
    for k = 1, 12 do flat(dir .. '/f/frame_' .. k .. '.png', level(k)) end
    local _, err, rc = convert(q(dir .. '/f') .. ' -o ' .. q(dir .. '/o.mp4'))
    assert.are.equal(0, rc, err)
    assert.are.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }, order_of(dir .. '/o.mp4'))
    assert.matches('convert: 1 converted, 0 up to date, 0 failed', err)
    assert.are.equal(12, helper.ffprobe_frames(dir .. '/o.mp4'))
    assert.are.same({}, helper.temporaries_of(dir .. '/o.mp4'))
  end)

  it('orders by bytes with --sort name and by a captured number with --sort REGEX', function()
    os.execute('mkdir ' .. q(dir .. '/f'))
    for k = 1, 12 do flat(dir .. '/f/frame_' .. k .. '.png', level(k)) end
    local _, err, rc = convert(q(dir .. '/f') .. ' -o ' .. q(dir .. '/n.mp4') .. ' --sort name')
    assert.are.equal(0, rc, err)
    assert.are.same({ 1, 10, 11, 12, 2, 3, 4, 5, 6, 7, 8, 9 }, order_of(dir .. '/n.mp4'))
    os.execute('mkdir ' .. q(dir .. '/r'))
    -- the leading number is noise; the take number is the frame number
    local noise = { 907, 15, 3, 88, 41, 600, 7, 250 }
    for k = 1, 8 do flat(dir .. '/r/' .. noise[k] .. '_take' .. k .. '.jpg', level(k)) end
    _, err, rc = convert(q(dir .. '/r') .. ' -o ' .. q(dir .. '/r.mp4') .. " --sort 'take([0-9]+)'")
    assert.are.equal(0, rc, err)
    assert.are.same({ 1, 2, 3, 4, 5, 6, 7, 8 }, order_of(dir .. '/r.mp4'))
  end)

  it('reads every PNG kind and JPEG mixed in one folder', function()
    os.execute('mkdir ' .. q(dir .. '/m'))
    local kinds = { 'gray', 'ya8', 'rgb24', 'rgba', 'pal8', 'rgb48be', 'gray16be', 'ya16be', 'monob' }
    for k, fmt in ipairs(kinds) do
      local g = fmt == 'monob' and 255 or level(k)
      local _, e, rc = helper.sh(string.format('ffmpeg -v error -f lavfi -i color=c=0x%02x%02x%02x:s=%dx%d:d=0.04 ' ..
        '-frames:v 1 -pix_fmt %s %s', g, g, g, W, H, fmt, q(dir .. '/m/' .. string.format('%02d', k) .. '.png')))
      assert(rc == 0, e)
    end
    flat(dir .. '/m/10.jpg', level(10))
    helper.write_file(dir .. '/m/notes.txt', 'not a frame')
    local _, err, rc = convert(q(dir .. '/m') .. ' -o ' .. q(dir .. '/m.mp4') .. ' --crf 0')
    assert.are.equal(0, rc, err)
    local got = levels(dir .. '/m.mp4')
    assert.are.equal(10, #got)
    for k = 1, 10 do
      -- what ffmpeg itself reads from the input (pal8 quantises the level)
      local name = k == 10 and '10.jpg' or string.format('%02d.png', k)
      local want = levels(dir .. '/m/' .. name)[1]
      assert.is_true(math.abs(got[k] - want) <= 3, 'frame ' .. k .. ': ' .. got[k] .. ' vs ' .. want)
    end
    assert.matches('1 non%-image entry ignored', err)
  end)

  it('keeps JPEG colours on the straight-to-YUV path (BT.601 SD, BT.709 HD)', function()
    for _, size in ipairs({ { 320, 240 }, { 1280, 720 } }) do
      local w, h = size[1], size[2]
      local d = dir .. '/j' .. w
      os.execute('mkdir ' .. q(d))
      local colours = { { 230, 120, 40 }, { 30, 160, 220 }, { 90, 200, 70 } }
      for k, c in ipairs(colours) do
        local _, e, rc = helper.sh(string.format('ffmpeg -v error -f lavfi -i color=c=0x%02x%02x%02x:s=%dx%d:d=0.04 ' ..
          '-frames:v 1 -q:v 2 %s', c[1], c[2], c[3], w, h, q(d .. '/' .. k .. '.jpg')))
        assert(rc == 0, e)
      end
      local _, err, rc = convert(q(d) .. ' -o ' .. q(d .. '.mp4') .. ' --crf 0')
      assert.are.equal(0, rc, err)
      local frames = helper.ffmpeg_rgba_frames(d .. '.mp4', w, h)
      assert.are.equal(3, #frames)
      local i = ((h / 2) * w + w / 2) * 4
      for k = 1, 3 do
        local src = helper.ffmpeg_rgba_frames(d .. '/' .. k .. '.jpg', w, h)[1]
        for c = 1, 3 do
          local got, want = frames[k]:byte(i + c), src:byte(i + c)
          assert.is_true(math.abs(got - want) <= 4, w .. 'x' .. h .. ' frame ' .. k .. ' channel ' .. c .. ': ' ..
            got .. ' vs ' .. want)
        end
      end
    end
  end)

  it('lays transparency over black, or over --background', function()
    os.execute('mkdir ' .. q(dir .. '/a'))
    for k = 1, 3 do
      local f = vs.frame(W, H)
      f:fill(255, 0, 0, 128) -- half-transparent red
      f:save(dir .. '/a/' .. k .. '.png')
    end
    local _, err, rc = convert(q(dir .. '/a') .. ' -o ' .. q(dir .. '/black.mp4') .. ' --crf 0')
    assert.are.equal(0, rc, err)
    local px = helper.ffmpeg_rgba_frames(dir .. '/black.mp4', W, H)[1]
    local i = (24 * W + 32) * 4
    assert.is_true(math.abs(px:byte(i + 1) - 128) <= 6 and px:byte(i + 2) <= 6, 'red over black')
    _, err, rc = convert(q(dir .. '/a') .. ' -o ' .. q(dir .. '/white.mp4') .. ' --crf 0 --background white')
    assert.are.equal(0, rc, err)
    px = helper.ffmpeg_rgba_frames(dir .. '/white.mp4', W, H)[1]
    assert.is_true(px:byte(i + 1) >= 248 and math.abs(px:byte(i + 2) - 127) <= 6, 'red over white')
  end)

  it('fails on a truncated frame naming file and index, and --skip-bad leaves it out', function()
    os.execute('mkdir ' .. q(dir .. '/b'))
    for k = 1, 6 do flat(dir .. '/b/' .. k .. '.png', level(k)) end
    local data = helper.read_file(dir .. '/b/3.png')
    helper.write_file(dir .. '/b/3.png', data:sub(1, 60))
    local _, err, rc = convert(q(dir .. '/b') .. ' -o ' .. q(dir .. '/b.mp4'))
    assert.are.equal(1, rc)
    assert.matches('b/3%.png %(frame 2%): truncated PNG', err)
    assert.matches('1 failed', err)
    assert.is_false(helper.exists(dir .. '/b.mp4'))
    assert.are.same({}, helper.temporaries_of(dir .. '/b.mp4'))
    _, err, rc = convert(q(dir .. '/b') .. ' -o ' .. q(dir .. '/b.mp4') .. ' --skip-bad')
    assert.are.equal(0, rc, err)
    assert.matches('left out .*b/3%.png %(frame 2%): truncated PNG', err)
    assert.matches('1 bad frame left out', err)
    assert.are.same({ 1, 2, 4, 5, 6 }, order_of(dir .. '/b.mp4'))
    -- a rerun trusts the output although it has one frame less than the folder
    _, err, rc = convert(q(dir .. '/b') .. ' -o ' .. q(dir .. '/b.mp4') .. ' --skip-bad')
    assert.are.equal(0, rc, err)
    assert.matches('0 converted, 1 up to date', err)
  end)

  it('fails on a PNG with flipped bits in its image data (checksums), naming file and index', function()
    os.execute('mkdir ' .. q(dir .. '/flip'))
    local _, err, rc = helper.sh('ffmpeg -v error -f lavfi -i testsrc2=s=64x48 -frames:v 4 -compression_level 0 ' ..
      q(dir .. '/flip/%d.png'))
    assert(rc == 0, err)
    local data = helper.read_file(dir .. '/flip/2.png')
    local at = data:find('IDAT', 1, true) + 4 + 500
    helper.write_file(dir .. '/flip/2.png', data:sub(1, at - 1) .. string.char(bit.bxor(data:byte(at), 0x55)) ..
      data:sub(at + 1))
    _, err, rc = convert(q(dir .. '/flip') .. ' -o ' .. q(dir .. '/flip.mp4'))
    assert.are.equal(1, rc, err)
    assert.matches('flip/2%.png %(frame 1%): corrupt PNG', err)
    assert.is_false(helper.exists(dir .. '/flip.mp4'))
  end)

  it('handles an unreadable frame, an unwritable output folder and a full disk without losing anything', function()
    os.execute('mkdir ' .. q(dir .. '/u'))
    for k = 1, 4 do flat(dir .. '/u/' .. k .. '.png', level(k)) end
    -- a frame that cannot be opened (a dangling link: chmod does not stop root)
    os.execute('ln -s ' .. q(dir .. '/gone.png') .. ' ' .. q(dir .. '/u/5.png'))
    local _, err, rc = convert(q(dir .. '/u') .. ' -o ' .. q(dir .. '/u.mp4'))
    assert.are.equal(1, rc, err)
    assert.matches('u/5%.png %(frame 4%): cannot open', err)
    assert.is_false(helper.exists(dir .. '/u.mp4'))
    assert.are.same({}, helper.temporaries_of(dir .. '/u.mp4'))
    os.remove(dir .. '/u/5.png')
    -- an output folder that cannot be made (a file is in the way): refused, the input untouched
    helper.write_file(dir .. '/blocker', 'x')
    _, err, rc = convert(q(dir .. '/u') .. ' -o ' .. q(dir .. '/blocker/out/'))
    assert.are.equal(1, rc, err)
    assert.truthy(err:find('blocker', 1, true), err)
    for k = 1, 4 do assert.is_true(helper.exists(dir .. '/u/' .. k .. '.png')) end
    -- a full disk (file size limit): exit 1, says so, no output
    os.execute('mkdir ' .. q(dir .. '/big'))
    for k = 1, 30 do vs.frame(W, H):fill((k * 37) % 256, (k * 91) % 256, k, 255):save(dir .. '/big/' .. k .. '.png') end
    _, err, rc = helper.sh('ulimit -f 2; ' .. q(helper.bin) .. ' convert ' .. q(dir .. '/big') .. ' -o ' ..
      q(dir .. '/big.mp4') .. ' --crf 0')
    assert.are.equal(1, rc, err)
    assert.truthy(err:lower():find('file too large') or err:lower():find('no space'), err)
    assert.is_false(helper.exists(dir .. '/big.mp4'))
    assert.are.same({}, helper.temporaries_of(dir .. '/big.mp4'))
  end)

  it('refuses a frame of another size unless --resize, and pads odd sizes', function()
    os.execute('mkdir ' .. q(dir .. '/s'))
    for k = 1, 4 do flat(dir .. '/s/' .. k .. '.png', level(k)) end
    vs.frame(32, 20):fill(200, 200, 200):save(dir .. '/s/3.png')
    local _, err, rc = convert(q(dir .. '/s') .. ' -o ' .. q(dir .. '/s.mp4'))
    assert.are.equal(1, rc)
    assert.matches('s/3%.png %(frame 2%): size 32x20 differs from the first frame\'s 64x48', err)
    assert.matches('%-%-resize fit|fill|pad', err)
    for _, mode in ipairs({ 'fit', 'fill', 'pad' }) do
      _, err, rc = convert(q(dir .. '/s') .. ' -o ' .. q(dir .. '/' .. mode .. '.mp4') .. ' --resize ' .. mode)
      assert.are.equal(0, rc, err)
      assert.are.equal(4, helper.ffprobe_frames(dir .. '/' .. mode .. '.mp4'))
    end
    os.execute('mkdir ' .. q(dir .. '/odd'))
    for k = 1, 3 do vs.frame(65, 49):fill(level(k), level(k), level(k)):save(dir .. '/odd/' .. k .. '.png') end
    _, err, rc = convert(q(dir .. '/odd') .. ' -o ' .. q(dir .. '/odd.mp4'))
    assert.are.equal(0, rc, err)
    local st = helper.ffprobe_stream(dir .. '/odd.mp4')
    assert.are.equal(66, st.width)
    assert.are.equal(50, st.height)
    assert.matches('65x49 is odd: padded to 66x50', err)
  end)

  it('says once per folder, naming it, that odd sizes were padded, and only when they were', function()
    for _, name in ipairs { 'a', 'b' } do
      os.execute('mkdir ' .. q(dir .. '/' .. name))
      for k = 1, 3 do vs.frame(63, 47):fill(level(k), 0, 0):save(dir .. '/' .. name .. '/' .. k .. '.png') end
    end
    local _, err, rc = convert(q(dir .. '/a') .. ' -o ' .. q(dir .. '/a.mp4'))
    assert.are.equal(0, rc, err)
    local _, n = err:gsub('padded', '')
    assert.are.equal(1, n, err)
    assert.truthy(err:find('vstudio: convert: ' .. dir .. '/a: warning: 63x47 is odd: padded to 64x48', 1, true), err)
    -- a batch: one warning per folder, each with its name
    _, err, rc = convert(q(dir .. '/a') .. ' ' .. q(dir .. '/b') .. ' -o ' .. q(dir .. '/out/'))
    assert.are.equal(0, rc, err)
    _, n = err:gsub('padded', '')
    assert.are.equal(2, n, err)
    assert.truthy(err:find(dir .. '/b: warning: 63x47 is odd', 1, true), err)
    -- png keeps RGBA at any size: nothing padded, nothing said
    _, err, rc = convert(q(dir .. '/a') .. ' --codec png -o ' .. q(dir .. '/a.mkv'))
    assert.are.equal(0, rc, err)
    assert.falsy(err:find('padded', 1, true), err)
    assert.are.equal(63, helper.ffprobe_stream(dir .. '/a.mkv').width)
  end)

  it('converts a batch into OUTDIR/, reports empty and missing folders, exit 1', function()
    for _, name in ipairs({ 'a', 'b', 'c' }) do
      os.execute('mkdir ' .. q(dir .. '/' .. name))
      for k = 1, 3 do flat(dir .. '/' .. name .. '/' .. k .. '.jpg', level(k)) end
    end
    os.execute('mkdir ' .. q(dir .. '/empty'))
    local _, err, rc = convert(q(dir .. '/a') .. ' ' .. q(dir .. '/b') .. ' ' .. q(dir .. '/empty') .. ' ' ..
      q(dir .. '/missing') .. ' ' .. q(dir .. '/c') .. ' -o ' .. q(dir .. '/out/'))
    assert.are.equal(1, rc)
    assert.matches('empty: the folder is empty', err)
    assert.matches('missing: no such folder', err)
    assert.matches('3 converted, 0 up to date, 2 failed', err)
    for _, name in ipairs({ 'a', 'b', 'c' }) do
      assert.are.equal(3, helper.ffprobe_frames(dir .. '/out/' .. name .. '.mp4'))
    end
  end)

  it('takes folders from a quoted glob and from --from, and warns about gaps', function()
    for _, name in ipairs({ 'shot1', 'shot2' }) do
      os.execute('mkdir ' .. q(dir .. '/' .. name))
      for _, k in ipairs({ 1, 2, 5 }) do flat(dir .. '/' .. name .. '/f' .. k .. '.png', level(k)) end
    end
    local _, err, rc = convert(q(dir .. '/shot*') .. ' -o ' .. q(dir .. '/g/'))
    assert.are.equal(0, rc, err)
    assert.matches('2 converted', err)
    assert.matches('numbering has gaps: 2 frame numbers missing %(3%-4%)', err)
    helper.write_file(dir .. '/list.txt', '# folders\n' .. dir .. '/shot2\n\n')
    _, err, rc = convert('--from ' .. q(dir .. '/list.txt') .. ' -o ' .. q(dir .. '/l/'))
    assert.are.equal(0, rc, err)
    assert.is_true(helper.exists(dir .. '/l/shot2.mp4'))
    assert.is_false(helper.exists(dir .. '/l/shot1.mp4'))
  end)

  it('prints the plan with --dry-run and writes nothing', function()
    os.execute('mkdir ' .. q(dir .. '/d'))
    for k = 1, 12 do flat(dir .. '/d/img' .. k .. '.png', level(k)) end
    local out, err, rc = convert(q(dir .. '/d') .. ' -o ' .. q(dir .. '/d.mp4') .. ' --dry-run')
    assert.are.equal(0, rc, err)
    assert.matches('d %-> .*d%.mp4: 12 frames', out)
    assert.matches('first: img1%.png img2%.png img3%.png', out)
    assert.matches('last:  img10%.png img11%.png img12%.png', out)
    assert.is_false(helper.exists(dir .. '/d.mp4'))
  end)

  it('resumes a killed batch: every output is valid after a rerun', function()
    local names = { 'p', 'q', 'r', 's' }
    for i, name in ipairs(names) do
      os.execute('mkdir ' .. q(dir .. '/' .. name))
      for k = 1, 20 + i * 5 do
        vs.frame(160, 120):fill(level(k % 12), 0, 0):save(dir .. '/' .. name .. '/' .. k .. '.png')
      end
    end
    local args = q(dir .. '/p') .. ' ' .. q(dir .. '/q') .. ' ' .. q(dir .. '/r') .. ' ' .. q(dir .. '/s') ..
      ' -o ' .. q(dir .. '/v/') .. ' --jobs 1 --workers 1 --preset veryslow'
    -- start in the background, kill -9 once the first output exists
    helper.sh(q(helper.bin) .. ' convert ' .. args .. ' -q & pid=$!; ' ..
      'for i in $(seq 1 200); do ls ' .. q(dir .. '/v') .. '/*.mp4 >/dev/null 2>&1 && break; sleep 0.05; done; ' ..
      'kill -9 $pid; wait $pid')
    local before = 0
    for _, name in ipairs(names) do
      if helper.exists(dir .. '/v/' .. name .. '.mp4') then before = before + 1 end
    end
    assert.is_true(before >= 1 and before < 4, 'killed midway: ' .. before .. ' outputs')
    local _, err, rc = convert(args:gsub('veryslow', 'ultrafast'))
    assert.are.equal(0, rc, err)
    assert.matches((4 - before) .. ' converted, ' .. before .. ' up to date, 0 failed', err)
    for i, name in ipairs(names) do
      assert.are.equal(20 + i * 5, helper.ffprobe_frames(dir .. '/v/' .. name .. '.mp4'))
      assert.are.same({}, helper.temporaries_of(dir .. '/v/' .. name .. '.mp4'))
    end
    _, err, rc = convert(args .. ' --force')
    assert.are.equal(0, rc, err)
    assert.matches('4 converted, 0 up to date', err)
  end)

  it('stops on Ctrl-C with status 130 and leaves neither OUT nor OUT.part', function()
    os.execute('mkdir ' .. q(dir .. '/i'))
    for k = 1, 150 do vs.frame(320, 240):fill(level(k % 12), k, 0):save(dir .. '/i/' .. k .. '.png') end
    local out = dir .. '/i.mp4'
    local _, err, rc = helper.sh(q(helper.bin) .. ' convert ' .. q(dir .. '/i') .. ' -o ' .. q(out) ..
      ' --workers 1 --preset veryslow & pid=$!; ' ..
      'for i in $(seq 1 200); do ls -A ' .. q(dir) .. ' | grep -q "part$" && break; sleep 0.02; done; ' ..
      'kill -INT $pid; wait $pid')
    assert.are.equal(130, rc, err)
    assert.matches('interrupted', err)
    assert.is_false(helper.exists(out))
    assert.are.same({}, helper.temporaries(dir))
  end)

  describe('resume', function()
    local src, out
    local function frames_dir(n)
      src = dir .. '/r'
      os.execute('mkdir -p ' .. q(src))
      for k = 1, n do flat(src .. '/' .. k .. '.png', level(k)) end
      out = dir .. '/r.mp4'
    end
    local function run(extra)
      local _, err, rc = convert(q(src) .. ' -o ' .. q(out) .. ' ' .. (extra or ''))
      assert.are.equal(0, rc, err)
      return err
    end
    local function up_to_date(err, n)
      return err:find('vstudio: convert: ' .. out .. ' is up to date (' .. n .. ' frames', 1, true) ~= nil
    end

    it('skips its own complete output, and converts again one cut short', function()
      frames_dir(12)
      run()
      assert.is_true(up_to_date(run(), 12))
      -- MP4 with the index first: a cut file still lists every frame
      local data = helper.read_file(out)
      helper.write_file(out, data:sub(1, math.floor(#data * 0.6)))
      local err = run()
      assert.truthy(err:find(src .. ': converted again: ' .. out .. ': cut short', 1, true), err)
      assert.matches('1 converted, 0 up to date', err)
      assert.are.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }, order_of(out))
      -- Matroska has no count in its header and no sample table: packets and duration tell
      out = dir .. '/r.mkv'
      run()
      assert.is_true(up_to_date(run(), 12))
      data = helper.read_file(out)
      helper.write_file(out, data:sub(1, math.floor(#data / 2)))
      err = run()
      assert.truthy(err:find(src .. ': converted again: ' .. out .. ': cut short', 1, true), err)
      assert.are.equal(12, helper.ffprobe_frames(out))
    end)

    it('converts again when frames were edited or replaced after the conversion', function()
      frames_dir(6)
      run()
      -- same names, same count: frame 3 now has another level, and another mtime
      flat(src .. '/3.png', level(9))
      os.execute('touch -d "2001-01-01" ' .. q(src .. '/3.png'))
      local err = run()
      assert.truthy(err:find('the frames or the options changed', 1, true), err)
      assert.are.same({ 1, 2, 9, 4, 5, 6 }, order_of(out))
      -- only the mtime changes (an edit that kept the size)
      os.execute('touch ' .. q(src .. '/5.png'))
      assert.matches('1 converted, 0 up to date', run())
      assert.is_true(up_to_date(run(), 6))
    end)

    it('converts again with other --fps, --crf or --resize, not for another --preset', function()
      frames_dir(4)
      run()
      assert.matches('1 converted', run('--fps 24'))
      assert.are.equal('24/1', helper.ffprobe_stream(out).r_frame_rate)
      assert.is_true(up_to_date(run('--fps 24'), 4))
      assert.matches('1 converted', run('--fps 24 --crf 30'))
      assert.matches('1 converted', run('--fps 24 --crf 30 --resize fit'))
      assert.is_true(up_to_date(run('--fps 24 --crf 30 --resize fit --preset ultrafast'), 4))
    end)

    it('refuses a file it did not write at the output path, unless --force', function()
      frames_dir(5)
      -- another video with the same frame count
      local _, err, rc = helper.sh('ffmpeg -v error -f lavfi -i testsrc=size=64x48:rate=30 -frames:v 5 ' .. q(out))
      assert.are.equal(0, rc, err)
      local before = helper.read_file(out)
      _, err, rc = convert(q(src) .. ' -o ' .. q(out))
      assert.are.equal(1, rc, err)
      assert.truthy(err:find('vstudio: convert: ' .. out .. ' exists and was not written by vstudio convert; ' ..
        '--force replaces it', 1, true), err)
      assert.are.equal(before, helper.read_file(out))
      run('--force')
      assert.are.same({ 1, 2, 3, 4, 5 }, order_of(out))
    end)

    it('resumes in every container that keeps the record; y4m, which cannot, needs --force', function()
      frames_dir(3)
      for _, ext in ipairs({ 'mkv', 'webm', 'mov', 'avi' }) do
        out = dir .. '/r.' .. ext
        run()
        assert.is_true(up_to_date(run(), 3), ext)
      end
      out = dir .. '/r.y4m'
      run()
      local _, err, rc = convert(q(src) .. ' -o ' .. q(out))
      assert.are.equal(1, rc, err)
      assert.truthy(err:find('y4m cannot record what it was converted from; --force replaces it', 1, true), err)
    end)

    it('reports the frames of an up-to-date output, not the files of its folder', function()
      frames_dir(6)
      helper.write_file(src .. '/4.png', 'not a png')
      run('--skip-bad')
      assert.are.equal(5, helper.ffprobe_frames(out))
      assert.is_true(up_to_date(run('--skip-bad'), 5))
    end)
  end)

  it('refuses a file name for several folders instead of making a folder of it', function()
    for _, name in ipairs({ 'A', 'B' }) do
      os.execute('mkdir ' .. q(dir .. '/' .. name))
      for k = 1, 2 do flat(dir .. '/' .. name .. '/' .. k .. '.png', level(k)) end
    end
    local _, err, rc = convert(q(dir .. '/A') .. ' ' .. q(dir .. '/B') .. ' -o ' .. q(dir .. '/two.mp4'))
    assert.are.equal(2, rc, err)
    assert.truthy(err:find(dir .. '/two.mp4: a file name, but 2 folders need an output folder', 1, true), err)
    assert.is_false(helper.exists(dir .. '/two.mp4'))
    -- a name without a video extension is still an output folder
    _, err, rc = convert(q(dir .. '/A') .. ' ' .. q(dir .. '/B') .. ' -o ' .. q(dir .. '/videos'))
    assert.are.equal(0, rc, err)
    assert.are.equal(2, helper.ffprobe_frames(dir .. '/videos/B.mp4'))
  end)

  it('says which folder an interrupted batch was converting, without a progress line at 100%', function()
    -- a test pattern keeps x264 (veryslow) busy long enough to be interrupted
    for name, n in pairs({ i = 300, j = 60 }) do
      os.execute('mkdir ' .. q(dir .. '/' .. name))
      local _, e, c = helper.sh(('ffmpeg -v error -f lavfi -i testsrc2=s=320x240 -frames:v %d %s')
        :format(n, q(dir .. '/' .. name .. '/%d.png')))
      assert.are.equal(0, c, e)
    end
    -- interrupted once i.mp4's temporary (.i.mp4.<pid>.<random>.part) exists
    local _, err, rc = helper.sh(q(helper.bin) .. ' convert ' .. q(dir .. '/i') .. ' ' .. q(dir .. '/j') .. ' -o ' ..
      q(dir .. '/v/') .. ' --jobs 1 --workers 1 --preset veryslow --progress & pid=$!; ' ..
      'for i in $(seq 1 300); do ls -A ' .. q(dir .. '/v') .. ' 2>/dev/null | grep -q "^\\.i\\.mp4\\..*\\.part$" && break; ' ..
      'sleep 0.02; done; sleep 0.1; kill -INT $pid; wait $pid')
    assert.are.equal(130, rc, err)
    assert.truthy(err:find('vstudio: convert: interrupted while converting ' .. dir:gsub('%p', '%%%0') ..
      '/i %(frame %d+ of 300%): ' ..
      'unfinished outputs were removed'), err)
    assert.matches('0 converted, 0 up to date, 0 failed, 1 interrupted, 1 not started', err)
    assert.falsy(err:find('360/360 frames', 1, true), err)
    assert.falsy(err:find('2/2 folders', 1, true), err)
    assert.are.same({}, helper.temporaries(dir .. '/v'))
  end)

  it('gives the encoded size of padded outputs and one message prefix', function()
    os.execute('mkdir ' .. q(dir .. '/odd') .. ' ' .. q(dir .. '/empty'))
    for k = 1, 3 do vs.frame(65, 49):fill(level(k), 0, 0):save(dir .. '/odd/' .. k .. '.png') end
    local _, err, rc = convert(q(dir .. '/odd') .. ' ' .. q(dir .. '/empty') .. ' -o ' .. q(dir .. '/o/'))
    assert.are.equal(1, rc, err)
    assert.truthy(err:find(': 3 frames, 66x50, ', 1, true), err)
    _, err = convert(q(dir .. '/odd') .. ' ' .. q(dir .. '/empty') .. ' -o ' .. q(dir .. '/o/'))
    assert.matches('is up to date', err)
    for line in err:gmatch('[^\n]+') do
      assert.truthy(line:find('^vstudio: convert: '), line)
    end
  end)

  it('reads every frame header with --dry-run: unreadable frames and other sizes show first', function()
    os.execute('mkdir ' .. q(dir .. '/d'))
    for k = 1, 8 do flat(dir .. '/d/' .. k .. '.png', level(k)) end
    helper.write_file(dir .. '/d/5.png', helper.read_file(dir .. '/d/5.png'):sub(1, 20))
    vs.frame(32, 20):fill(9, 9, 9):save(dir .. '/d/7.png')
    local out, err, rc = convert(q(dir .. '/d') .. ' -o ' .. q(dir .. '/d.mp4') .. ' --dry-run')
    assert.are.equal(1, rc, err)
    assert.truthy(out:find('problem: ' .. dir .. '/d/5.png (frame 4): ', 1, true), out)
    assert.truthy(out:find('problem: ' .. dir .. '/d/7.png (frame 6): size 32x20 differs from the first frame\'s 64x48',
      1, true), out)
    assert.matches('0 to convert %(0 frames%), 0 up to date, 1 cannot be converted', out)
    assert.is_false(helper.exists(dir .. '/d.mp4'))
    -- with --resize the other size is fine; with --skip-bad the unreadable frame is left out
    out, err, rc = convert(q(dir .. '/d') .. ' -o ' .. q(dir .. '/d.mp4') .. ' --dry-run --resize fit --skip-bad')
    assert.are.equal(0, rc, err)
    assert.truthy(out:find('left out (--skip-bad): ' .. dir .. '/d/5.png (frame 4)', 1, true), out)
    assert.falsy(out:find('7.png (frame 6)', 1, true), out)
  end)

  it('says "no space left on device" at the output, naming it and the frame once', function()
    os.execute('mkdir ' .. q(dir .. '/big'))
    local _, err0, rc0 = helper.sh('ffmpeg -v error -f lavfi -i testsrc2=s=320x240 -frames:v 80 ' .. q(dir .. '/big/%d.png'))
    assert.are.equal(0, rc0, err0)
    -- a small tmpfs is a real full disk (root only); a file size limit stands in otherwise
    local disk = dir .. '/disk'
    os.execute('mkdir ' .. q(disk))
    local _, _, mounted = helper.sh('mount -t tmpfs -o size=100k tmpfs ' .. q(disk))
    local out = disk .. '/big.mp4'
    local _, err, rc = helper.sh((mounted == 0 and '' or 'ulimit -f 100; ') .. q(helper.bin) .. ' convert ' ..
      q(dir .. '/big') .. ' -o ' .. q(out) .. ' --crf 0')
    local left = helper.exists(out) or #helper.temporaries_of(out) > 0
    if mounted == 0 then os.execute('umount ' .. q(disk)) end
    assert.are.equal(1, rc, err)
    local why = mounted == 0 and 'No space left on device' or 'File too large'
    assert.truthy(err:find('vstudio: convert: ' .. out .. ': ', 1, true), err)
    assert.truthy(err:find(why, 1, true), err)
    local _, n = err:gsub(out:gsub('%p', '%%%0'), '')
    assert.are.equal(1, n, err)
    assert.is_false(left)
  end)

  it('hints at DIR/* for a folder of folders', function()
    for _, name in ipairs({ 'a', 'b' }) do
      os.execute('mkdir -p ' .. q(dir .. '/set/' .. name))
      flat(dir .. '/set/' .. name .. '/1.png', level(1))
    end
    local _, err, rc = convert(q(dir .. '/set') .. ' -o ' .. q(dir .. '/set.mp4'))
    assert.are.equal(1, rc, err)
    assert.truthy(err:find(dir .. "/set: no PNG or JPEG files, but 2 folders: to convert each, give '" .. dir ..
      "/set/*' (quoted)", 1, true), err)
  end)

  it('gives usage errors exit 2 and names the word', function()
    local _, err, rc = convert('--resize squash ' .. q(dir))
    assert.are.equal(2, rc)
    assert.matches("%-%-resize: 'squash' is not fit, fill or pad", err)
    _, err, rc = convert(q(dir) .. ' --bogus')
    assert.are.equal(2, rc)
    assert.matches("unknown option '%-%-bogus'", err)
    _, err, rc = convert('')
    assert.are.equal(2, rc)
    -- ffmpeg's order (folder, then the video's name): refused, nothing written
    _, err, rc = convert(q(dir) .. ' ' .. q(dir .. '/named.mp4'))
    assert.are.equal(2, rc)
    assert.matches('named.mp4 is not a folder of frames; to name the video, put %-o before it', err)
    assert.is_nil(io.open(dir .. '.mp4'))
    assert.is_nil(io.open(dir .. '/named.mp4'))
    local out
    out, _, rc = convert('--help')
    assert.are.equal(0, rc)
    assert.matches('Usage: vstudio convert', out)
  end)
end)
