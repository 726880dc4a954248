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
    assert.is_false(helper.exists(dir .. '/o.mp4.part'))
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
    assert.is_false(helper.exists(dir .. '/b.mp4.part'))
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
    assert.is_false(helper.exists(dir .. '/u.mp4.part'))
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
    assert.is_false(helper.exists(dir .. '/big.mp4.part'))
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
      assert.is_false(helper.exists(dir .. '/v/' .. name .. '.mp4.part'))
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

  it('gives usage errors exit 2 and names the word', function()
    local _, err, rc = convert('--resize squash ' .. q(dir))
    assert.are.equal(2, rc)
    assert.matches("%-%-resize: 'squash' is not fit, fill or pad", err)
    _, err, rc = convert(q(dir) .. ' --bogus')
    assert.are.equal(2, rc)
    assert.matches("unknown option '%-%-bogus'", err)
    _, err, rc = convert('')
    assert.are.equal(2, rc)
    local out
    out, _, rc = convert('--help')
    assert.are.equal(0, rc)
    assert.matches('Usage: vstudio convert', out)
  end)
end)
