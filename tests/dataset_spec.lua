-- dataset_spec.lua: vs.dataset{} over image folders and videos: coverage,
-- indices, pixels against the ffmpeg CLI, batches, transforms, shards, map,
-- npy export (checked with numpy) and bad inputs.
local helper = require 'helper'
local vs = require 'vstudio'
local ffi = require 'ffi'

local q = helper.q
local dir, A, B, C, V1, V2
local oracle = {}        -- path -> list of RGBA strings (1-based)
local have_video = false -- video decoding landed in this build
local have_images = false -- PNG loading landed in this build

local function ffmpeg(args)
  local _, err, rc = helper.sh('ffmpeg -v error -y ' .. args)
  assert(rc == 0, err)
end

local function rgba_of(pattern, w, h)
  return helper.ffmpeg_rgba_frames(pattern, w, h)
end

-- ffmpeg's decode of path through the filter graph, as RGBA frames of w x h.
local function rgba_of_graph(path, graph, w, h)
  local out = helper.sh('ffmpeg -v error -i ' .. q(path) .. ' -vf ' .. q(graph) .. ' -f rawvideo -pix_fmt rgba -')
  local frames = {}
  for i = 1, #out - w * h * 4 + 1, w * h * 4 do frames[#frames + 1] = out:sub(i, i + w * h * 4 - 1) end
  return frames
end

-- Every (path, index, pixels) a full iteration yields, in order.
local function collect(ds, opts)
  local out, sizes = {}, {}
  for b in ds:batches(opts) do
    sizes[#sizes + 1] = #b.frames
    for k = 1, #b.frames do
      out[#out + 1] = { path = b.paths[k], index = b.indices[k], bytes = helper.frame_bytes(b.frames[k]),
        w = b.frames[k].width, h = b.frames[k].height }
    end
  end
  return out, sizes
end

local function keyset(items)
  local set, dup = {}, nil
  for _, it in ipairs(items) do
    local k = it.path .. '#' .. it.index
    if set[k] then dup = k end
    set[k] = true
  end
  return set, dup
end

setup(function()
  dir = helper.tmpdir()
  A, B, C = dir .. '/a', dir .. '/b', dir .. '/c'
  os.execute('mkdir -p ' .. q(A) .. ' ' .. q(B) .. ' ' .. q(C))
  -- a: 12 frames named f1..f12 (natural order differs from name order)
  ffmpeg('-f lavfi -i testsrc2=s=64x48:r=10 -frames:v 12 ' .. q(A .. '/f%d.png'))
  ffmpeg('-f lavfi -i testsrc2=s=64x48:r=10 -frames:v 25 -vf hflip ' .. q(B .. '/img_%03d.png'))
  ffmpeg('-f lavfi -i testsrc2=s=80x60:r=10 -frames:v 7 ' .. q(C .. '/x%d.png'))
  oracle[A] = rgba_of(A .. '/f%d.png', 64, 48)
  oracle[B] = rgba_of(B .. '/img_%03d.png', 64, 48)
  oracle[C] = rgba_of(C .. '/x%d.png', 80, 60)
  -- videos: lossless RGB (exact pixels) and H.264
  V1, V2 = dir .. '/v1.mkv', dir .. '/v2.mp4'
  ffmpeg('-f lavfi -i testsrc2=s=64x48:r=25 -frames:v 40 -c:v ffv1 -pix_fmt bgr0 ' .. q(V1))
  ffmpeg('-f lavfi -i testsrc2=s=64x48:r=25 -frames:v 18 -vf vflip -c:v libx264 -crf 0 -pix_fmt yuv444p ' .. q(V2))
  oracle[V1] = rgba_of(V1, 64, 48)
  oracle[V2] = rgba_of(V2, 64, 48)
  have_images = pcall(vs.load, A .. '/f1.png')
  have_video = pcall(function() return vs.dataset{ paths = { V1 } }:count() end)
end)

teardown(helper.cleanup)

-- Image-folder specs wait for PNG loading (image.c) in this build.
local function img_it(name, fn)
  it(name, function()
    if not have_images then pending('PNG loading is not built yet') return end
    fn()
  end)
end

describe('vs.dataset over image folders', function()
  img_it('counts frames without decoding', function()
    assert.are.equal(12 + 25 + 7, vs.dataset{ paths = { A, B, C } }:count())
    assert.are.equal(4 + 9 + 3, vs.dataset{ paths = { A, B, C }, every = 3 }:count())
    assert.are.equal(3 + 3 + 3, vs.dataset{ paths = { A, B, C }, frames = { 2, 5 } }:count())
  end)

  img_it('yields every frame exactly once with its index and the right pixels', function()
    local ds = vs.dataset{ paths = { A, B, C }, batch = 5, workers = 2 }
    local items = collect(ds)
    assert.are.equal(44, #items)
    local set, dup = keyset(items)
    assert.is_nil(dup)
    for _, p in ipairs { A, B, C } do
      for i = 0, #oracle[p] - 1 do assert.is_true(set[p .. '#' .. i], p .. ' frame ' .. i) end
    end
    for _, it in ipairs(items) do
      assert(it.bytes == oracle[it.path][it.index + 1], it.path .. ' frame ' .. it.index .. ' differs from ffmpeg')
    end
  end)

  img_it('sorts folder images naturally (f2 before f10)', function()
    local ds = vs.dataset{ paths = { A }, batch = 12, workers = 1 }
    local items = collect(ds)
    for i, it in ipairs(items) do
      assert.are.equal(i - 1, it.index)
      assert(it.bytes == oracle[A][i], 'frame ' .. (i - 1) .. ' is not f' .. i .. '.png')
    end
  end)

  img_it('orders a folder by a regex capture when sort is a regex', function()
    local R = dir .. '/r'
    os.execute('mkdir -p ' .. q(R) .. ' && cp ' .. q(A .. '/f1.png') .. ' ' .. q(R .. '/z1.png') ..
      ' && cp ' .. q(A .. '/f2.png') .. ' ' .. q(R .. '/a2.png') .. ' && cp ' .. q(A .. '/f3.png') .. ' ' .. q(R .. '/m3.png'))
    local items = collect(vs.dataset{ paths = { R }, sort = '([0-9]+)[.]png$' })
    for i = 1, 3 do assert(items[i].bytes == oracle[A][i], 'frame ' .. (i - 1)) end
    items = collect(vs.dataset{ paths = { R } }) -- natural: a2, m3, z1
    assert(items[1].bytes == oracle[A][2] and items[3].bytes == oracle[A][1])
  end)

  img_it('assigns sources longest first to the least loaded lane', function()
    -- B 25, A 12, C 7 frames: B -> 1; A -> 2; C -> 2 (12 < 25)
    assert.are.same({ { B }, { A, C } }, vs.dataset{ paths = { A, B, C } }:plan(2))
    -- with every=2 on {A, B, C, A2 (12)}: 13, 6, 4, 6 -> B | A, C, A2
    local A2 = dir .. '/a2'
    os.execute('cp -r ' .. q(A) .. ' ' .. q(A2))
    assert.are.same({ { B }, { A, C, A2 } }, vs.dataset{ paths = { A, B, C, A2 }, every = 2 }:plan(2))
    assert.are.same({ { B }, { A, C }, { A2 } }, vs.dataset{ paths = { A, B, C, A2 } }:plan(3))
    assert.are.same({ { A, B, C } }, vs.dataset{ paths = { A, B, C } }:plan(1))
  end)

  -- The documented order: lanes (lists of keys) merged by taking next from the
  -- lane least far along (taken + 1 over its length; the lower lane on a tie).
  local function proportional(lanes)
    local out, taken = {}, {}
    for l = 1, #lanes do taken[l] = 0 end
    while true do
      local best
      for l = 1, #lanes do
        if taken[l] < #lanes[l] and (not best or (taken[l] + 1) * #lanes[best] < (taken[best] + 1) * #lanes[l]) then
          best = l
        end
      end
      if not best then return out end
      taken[best] = taken[best] + 1
      out[#out + 1] = lanes[best][taken[best]]
    end
  end
  local function keys(path, n)
    local t = {}
    for i = 0, n - 1 do t[#t + 1] = path .. '#' .. i end
    return t
  end

  img_it('gives the same batches with 1, 2 and 3 workers (the order is not the machine\'s)', function()
    local function order(workers)
      local got, sizes = {}, {}
      for b in vs.dataset{ paths = { A, B, C }, batch = 5, workers = workers }:batches() do
        sizes[#sizes + 1] = #b.frames
        for k = 1, #b.frames do got[#got + 1] = b.paths[k] .. '#' .. b.indices[k] end
      end
      return got, sizes
    end
    local one, sizes = order(1)
    assert.are.equal(44, #one)
    -- three lanes (one per source, B longest first), in proportion to their lengths
    assert.are.same(proportional { keys(B, 25), keys(A, 12), keys(C, 7) }, one)
    assert.are.same({ B .. '#0', B .. '#1', A .. '#0', B .. '#2', C .. '#0' }, { unpack(one, 1, 5) })
    for workers = 2, 3 do
      local got, s = order(workers)
      assert.are.same(one, got)
      assert.are.same(sizes, s)
    end
  end)

  img_it('interleaves the lanes frame by frame so that they end together, the same order every run', function()
    local items = collect(vs.dataset{ paths = { A, B, C }, batch = 4, workers = 2, lanes = 2 })
    local w2 = keys(A, 12)
    for _, k in ipairs(keys(C, 7)) do w2[#w2 + 1] = k end
    local want = proportional { keys(B, 25), w2 }
    -- the last frames come from both lanes, not from the longer one alone
    assert.are.same({ B .. '#24', C .. '#6' }, { want[43], want[44] })
    local got = {}
    for _, it in ipairs(items) do got[#got + 1] = it.path .. '#' .. it.index end
    assert.are.same(want, got)
  end)

  img_it('fills every batch but the last, in the same order every run', function()
    local ds = vs.dataset{ paths = { A, B, C }, batch = 6, workers = 2 }
    local first, sizes = collect(ds)
    assert.are.same({ 6, 6, 6, 6, 6, 6, 6, 2 }, sizes)
    for _ = 1, 2 do
      local again = collect(ds)
      for k = 1, #first do
        assert.are.equal(first[k].path, again[k].path)
        assert.are.equal(first[k].index, again[k].index)
      end
    end
  end)

  img_it('shuffles the sources with a seed, the same order every run', function()
    local A2, B2 = dir .. '/a_copy', dir .. '/b_copy'
    os.execute('cp -r ' .. q(A) .. ' ' .. q(A2) .. ' && cp -r ' .. q(B) .. ' ' .. q(B2))
    local paths = { A, B, C, A2, B2 }
    local orders, distinct = {}, {}
    for seed = 0, 5 do
      local ds = vs.dataset{ paths = paths, shuffle = seed, size = { 16, 12 } }
      orders[seed] = table.concat(ds.source_paths, ' ')
      distinct[orders[seed]] = true
      local sorted = { unpack(ds.source_paths) }
      table.sort(sorted)
      local want = { unpack(paths) }
      table.sort(want)
      assert.are.same(want, sorted)
    end
    assert.is_true(next(distinct, next(distinct)) ~= nil, 'every seed gave one order')
    local ds = vs.dataset{ paths = paths, shuffle = 3, size = { 16, 12 } }
    assert.are.equal(orders[3], table.concat(ds.source_paths, ' '))
    -- the batches follow the shuffled order: with one lane, sources one after another
    local seen, last = {}, nil
    for _, it in ipairs(collect(vs.dataset{ paths = paths, shuffle = 3, size = { 16, 12 }, lanes = 1 })) do
      if it.path ~= last then seen[#seen + 1] = it.path; last = it.path end
    end
    assert.are.equal(orders[3], table.concat(seen, ' '))
    -- chunks: every source cut into runs of 5 frames, all the runs in the seed's order
    local function chunked(lanes, workers)
      local got = {}
      for _, it in ipairs(collect(vs.dataset{ paths = { A, B }, shuffle = { seed = 3, chunk = 5 }, size = { 16, 12 },
                                              lanes = lanes }, { workers = workers })) do
        got[#got + 1] = it.path .. '#' .. it.index
      end
      return got
    end
    local one = chunked(1, 1)
    assert.are.equal(12 + 25, #one)
    assert.are.same(one, chunked(1, 3))
    local runs = {}
    for k, key in ipairs(one) do
      local index = tonumber(key:match('#(%d+)$'))
      if index % 5 == 0 then runs[#runs + 1] = key end
      if k == 1 then assert.are.equal(0, index % 5) end
    end
    local plain = {}
    for i = 0, 11, 5 do plain[#plain + 1] = A .. '#' .. i end
    for i = 0, 24, 5 do plain[#plain + 1] = B .. '#' .. i end
    local sorted_runs, sorted_plain = { unpack(runs) }, { unpack(plain) }
    table.sort(sorted_runs)
    table.sort(sorted_plain)
    assert.are.same(sorted_plain, sorted_runs) -- every chunk once
    assert.are_not.same(plain, runs)           -- in the seed's order, not the sources'
    -- map gives its results in the same order, the chunks' (ordinals follow the pieces)
    local ds3 = vs.dataset{ paths = { A, B }, shuffle = { seed = 3, chunk = 5 }, size = { 16, 12 } }
    local _, mpaths, mindices = ds3:map(function(_, _, index) return index end, { workers = 2 })
    local mapped = {}
    for k = 1, #mindices do mapped[k] = mpaths[k] .. '#' .. mindices[k] end
    assert.are.same(one, mapped)
    assert.has_error(function() vs.dataset{ paths = { A }, shuffle = { chunk = 2 } } end)
  end)

  img_it("keeps the aspect ratio with resize = 'fill' or 'fit'", function()
    -- 64x48 (4:3) into 48x48: fill keeps the centred 48x48, unscaled (ffmpeg's pixels)
    for _, it in ipairs(collect(vs.dataset{ paths = { A }, size = { 48, 48 }, resize = 'fill' })) do
      local want = {}
      for y = 0, 47 do want[#want + 1] = oracle[A][it.index + 1]:sub(y * 256 + 8 * 4 + 1, y * 256 + 56 * 4) end
      assert(it.bytes == table.concat(want), 'fill of frame ' .. it.index)
    end
    -- fit: the whole frame at 48x36 between black bars of 6 rows, as size {48, 36} gives it
    local fit = collect(vs.dataset{ paths = { A }, size = { 48, 48 }, resize = 'fit' })
    local plain = collect(vs.dataset{ paths = { A }, size = { 48, 36 } })
    local bar = string.rep('\0\0\0\255', 48 * 6)
    for k, it in ipairs(fit) do
      local row = 48 * 4
      assert(it.bytes:sub(1, 6 * row) == bar and it.bytes:sub(42 * row + 1) == bar, 'bars of frame ' .. it.index)
      assert(it.bytes:sub(6 * row + 1, 42 * row) == plain[k].bytes, 'picture of frame ' .. it.index)
    end
    assert.has_error(function() vs.dataset{ paths = { A }, size = { 8, 8 }, resize = 'pad' } end,
      "vstudio: dataset: resize must be 'stretch', 'fit' or 'fill', got pad")
  end)

  img_it('resizes, crops and grays in the workers', function()
    local items = collect(vs.dataset{ paths = { A, C }, size = { 32, 24 }, workers = 2 })
    assert.are.equal(19, #items)
    for _, it in ipairs(items) do assert.are.same({ 32, 24 }, { it.w, it.h }) end
    -- shrinking is an area average, as ffmpeg's scale with flags=area (the same libswscale)
    local small = rgba_of_graph(A .. '/f%d.png', 'scale=32:24:flags=area', 32, 24)
    for _, it in ipairs(items) do
      if it.path == A then assert.is_true(helper.psnr(it.bytes, small[it.index + 1]) > 40) end
    end

    items = collect(vs.dataset{ paths = { A }, crop = { x = 8, y = 4, w = 16, h = 10 } })
    for _, it in ipairs(items) do
      assert.are.same({ 16, 10 }, { it.w, it.h })
      local want = {}
      for y = 4, 13 do want[#want + 1] = oracle[A][it.index + 1]:sub(y * 256 + 8 * 4 + 1, y * 256 + 24 * 4) end
      assert(it.bytes == table.concat(want), 'crop of frame ' .. it.index)
    end

    items = collect(vs.dataset{ paths = { C }, gray = true })
    for _, it in ipairs(items) do
      for i = 1, #it.bytes, 4 * 97 do
        local r, g, b, a = it.bytes:byte(i, i + 3)
        assert(r == g and g == b and a == 255, 'not gray')
      end
    end
  end)

  img_it('keeps every N-th frame of a range of each source', function()
    local items = collect(vs.dataset{ paths = { A, B }, frames = { 2, 10 }, every = 3, workers = 2 })
    local got = {}
    for _, it in ipairs(items) do got[#got + 1] = it.path .. '#' .. it.index end
    table.sort(got)
    assert.are.same({ A .. '#2', A .. '#5', A .. '#8', B .. '#2', B .. '#5', B .. '#8' }, got)
  end)

  img_it('takes a range of its own for a source given as {path, frames = {A, B}}', function()
    local ds = vs.dataset{ paths = { { A, frames = { 3, 6 } }, B, { path = C, frames = { 5, 100 } } },
                           frames = { 0, 2 } }
    assert.are.equal(3 + 2 + 2, ds:count())
    local got = {}
    for _, it in ipairs(collect(ds)) do got[#got + 1] = it.path .. '#' .. it.index end
    table.sort(got)
    assert.are.same({ A .. '#3', A .. '#4', A .. '#5', B .. '#0', B .. '#1', C .. '#5', C .. '#6' }, got)
  end)

  img_it('splits into shards that cover every frame once', function()
    local all = {}
    local total = 0
    for i = 1, 3 do
      local ds = vs.dataset{ paths = { A, B, C }, shard = { i, 3 }, batch = 4, workers = 2 }
      local items = collect(ds)
      assert.are.equal(ds:count(), #items)
      assert.is_true(#items >= 14 and #items <= 15)
      for _, it in ipairs(items) do
        local k = it.path .. '#' .. it.index
        assert.is_nil(all[k], k .. ' in two shards')
        all[k] = true
        total = total + 1
      end
    end
    assert.are.equal(44, total)
    assert.has_error(function() vs.dataset{ paths = { A }, shard = { 0, 3 } } end,
      'vstudio: dataset: shard {0, 3}: need 1 <= i <= n (shards are numbered from 1)')
  end)

  img_it('maps a function on worker threads, results in dataset order', function()
    local ds = vs.dataset{ paths = { A, B, C }, every = 2 }
    local fn = function(frame, path, index)
      local r, g, b = frame:get(5, 7)
      return { key = path .. '#' .. index, w = frame.width, sum = r + g + b }
    end
    local r1, paths, indices = ds:map(fn, { workers = 1 })
    local r2 = ds:map(fn, { workers = 2 })
    assert.are.equal(6 + 13 + 4, r1.n)
    local k = 0
    for _, p in ipairs { A, B, C } do
      for i = 0, #oracle[p] - 1, 2 do
        k = k + 1
        assert.are.equal(p .. '#' .. i, r1[k].key)
        assert.are.equal(p, paths[k])
        assert.are.equal(i, indices[k])
        local o = oracle[p][i + 1]
        local w = p == C and 80 or 64
        local at = (7 * w + 5) * 4
        assert.are.equal(o:byte(at + 1) + o:byte(at + 2) + o:byte(at + 3), r1[k].sum)
        assert.are.same(r1[k], r2[k])
      end
    end
  end)

  img_it("maps 'module:function' loaded in every worker", function()
    local mdir = dir .. '/mods'
    os.execute('mkdir -p ' .. q(mdir))
    helper.write_file(mdir .. '/dsmod.lua', 'local M = {}\nlocal scale = 10\n' ..
      'function M.area(frame, path, index) return frame.width * frame.height * scale + index end\nreturn M\n')
    local saved = package.path
    package.path = mdir .. '/?.lua;' .. package.path
    local ok, r = pcall(function()
      return vs.dataset{ paths = { C } }:map('dsmod:area', { workers = 2 })
    end)
    package.path = saved
    assert(ok, r)
    assert.are.equal(7, r.n)
    for k = 1, 7 do assert.are.equal(80 * 60 * 10 + k - 1, r[k]) end
    assert.has_error(function() vs.dataset{ paths = { C } }:map('dsmod_missing:area') end)
  end)

  img_it('refuses a map function with upvalues and reports where fn failed', function()
    local ds = vs.dataset{ paths = { A } }
    local up = 3
    assert.has_error(function() ds:map(function() return up end) end)
    local ok, err = pcall(ds.map, ds, function(frame, path, index)
      if index == 4 then error('boom') end
    end, { workers = 2 })
    assert.is_false(ok)
    assert.matches('boom', err)
    assert.matches('f5.png', err, 1, true)
  end)

  img_it('saves batches as .npy files numpy loads, with an index.csv', function()
    local out = dir .. '/npy'
    local ds = vs.dataset{ paths = { A, C }, size = { 16, 12 }, batch = 8, workers = 2 }
    assert.are.equal(3, ds:save_npy(out))
    local ds2 = vs.dataset{ paths = { A }, size = { 16, 12 }, batch = 8, gray = true }
    ds2:save_npy(out .. '/f', { layout = 'nchw', dtype = 'float32' })
    -- the reference: the same frames through batches()
    local items = collect(ds)
    local ref = io.open(dir .. '/ref.raw', 'wb')
    for _, it in ipairs(items) do
      for p = 1, #it.bytes, 4 do ref:write(it.bytes:sub(p, p + 2)) end
    end
    ref:close()
    local py = [[
import numpy as np, csv, sys
d = sys.argv[1]
ref = np.fromfile(d + '/../ref.raw', dtype=np.uint8).reshape(-1, 12, 16, 3)
arrs = [np.load(d + '/batch_%06d.npy' % i) for i in range(3)]
assert [a.shape for a in arrs] == [(8, 12, 16, 3), (8, 12, 16, 3), (3, 12, 16, 3)], [a.shape for a in arrs]
assert all(a.dtype == np.uint8 for a in arrs)
allf = np.concatenate(arrs)
assert (allf == ref).all(), 'pixels differ'
rows = list(csv.reader(open(d + '/index.csv')))
assert rows[0] == ['file', 'row', 'path', 'index', 'source_file'], rows[0]
assert len(rows) == 20
assert rows[9][:2] == ['batch_000001.npy', '0']
# each frame's image file: <letter><index + 1>.png in these folders (a/f1.png, c/x1.png, ...)
import re
assert all(re.fullmatch(re.escape(r[2]) + '/[a-z]%d[.]png' % (int(r[3]) + 1), r[4]) for r in rows[1:]), rows[1:]
g = np.load(d + '/f/batch_000000.npy')
assert g.shape == (8, 1, 12, 16) and g.dtype == np.float32, (g.shape, g.dtype)
assert 0.0 <= g.min() and g.max() <= 1.0 and g.max() > 0.5
print('ok')
]]
    helper.write_file(dir .. '/check.py', py)
    local stdout, err, rc = helper.sh('/usr/bin/python3 ' .. q(dir .. '/check.py') .. ' ' .. q(out))
    assert.are.equal(0, rc, err)
    assert.matches('ok', stdout)
  end)

  img_it('removes the batch files of an earlier, longer export', function()
    local out = dir .. '/npy_rerun'
    assert.are.equal(6, vs.dataset{ paths = { A }, batch = 2, size = { 4, 3 } }:save_npy(out))
    assert.is_true(helper.exists(out .. '/batch_000005.npy'))
    assert.are.equal(2, vs.dataset{ paths = { A }, batch = 8, size = { 4, 3 } }:save_npy(out))
    local ls = helper.sh('ls ' .. q(out))
    assert.are.equal('batch_000000.npy\nbatch_000001.npy\nindex.csv\n', ls)
    local rows = 0
    for line in io.lines(out .. '/index.csv') do
      rows = rows + 1
      if rows > 1 then assert.matches('^batch_00000[01]%.npy,', line) end
    end
    assert.are.equal(13, rows)
  end)

  img_it('fails when index.csv cannot be written whole, leaving no index', function()
    -- a file size limit (ulimit -f, in KiB) the small batches fit and the index does not
    local src = dir .. '/a_folder_with_a_long_name_so_that_the_index_rows_are_long_enough'
    local out = dir .. '/npy_limit'
    os.execute('rm -rf ' .. q(src) .. ' && cp -r ' .. q(A) .. ' ' .. q(src))
    local script = dir .. '/limit.lua'
    helper.write_file(script, ([[
package.path = %q
local vs = require 'vstudio'
local paths = {}
for i = 1, 3 do paths[i] = %q end
vs.dataset{ paths = paths, batch = 4, size = { 1, 1 }, gray = true }:save_npy(%q)
]]):format(package.path, src, out))
    -- under ASan (make check) luajit needs the sanitizer runtime preloaded
    local preload = os.getenv('LD_PRELOAD') and 'LD_PRELOAD=' .. q(os.getenv('LD_PRELOAD')) .. ' ' or ''
    local _, err, rc = helper.sh("ulimit -f 1; trap '' XFSZ; " .. preload .. 'luajit ' .. q(script))
    assert.are_not.equal(0, rc)
    assert.matches('save_npy: .*index%.csv: cannot write', err)
    assert.is_true(helper.exists(out .. '/batch_000008.npy'))
    assert.is_false(helper.exists(out .. '/index.csv'))
    assert.are.same({}, helper.temporaries(out))
  end)
end)

describe('vs.dataset bad input', function()
  it('names every missing path before decoding anything', function()
    local ok, err = pcall(vs.dataset, { paths = { A, dir .. '/nope1.mp4', B, dir .. '/nope2' } })
    assert.is_false(ok)
    assert.matches('2 of 4 paths not found', err, 1, true)
    assert.matches('nope1.mp4', err, 1, true)
    assert.matches('nope2', err, 1, true)
  end)

  it('stops at a corrupt image naming file and frame, or skips it with on_error=skip', function()
    if not have_images then pending('PNG loading is not built yet') return end
    local bad = dir .. '/bad'
    os.execute('mkdir -p ' .. q(bad) .. ' && cp ' .. q(A) .. '/f*.png ' .. q(bad))
    local png = helper.read_file(bad .. '/f6.png')
    helper.write_file(bad .. '/f6.png', png:sub(1, 200))
    local ds = vs.dataset{ paths = { A, bad, C }, batch = 4, workers = 1 }
    local seen = 0
    local ok, err = pcall(function()
      for b in ds:batches() do seen = seen + #b.frames end
    end)
    assert.is_false(ok)
    assert.matches('bad: frame 5', err, 1, true)
    assert.matches('f6.png', err, 1, true)
    assert.is_true(seen >= 12 + 5 - 4)

    ds = vs.dataset{ paths = { A, bad, C }, batch = 4, workers = 2, on_error = 'skip' }
    local items = collect(ds)
    assert.are.equal(12 + 11 + 7, #items)
    assert.are.equal(1, #ds.skipped)
    assert.matches('f6.png', ds.skipped[1], 1, true)
  end)

  it('delivers the frames gathered into a batch before an error, then raises it', function()
    if not have_images then pending('PNG loading is not built yet') return end
    local bad = dir .. '/bad_batch'
    os.execute('mkdir -p ' .. q(bad) .. ' && cp ' .. q(A) .. '/f*.png ' .. q(bad))
    helper.write_file(bad .. '/f6.png', helper.read_file(bad .. '/f6.png'):sub(1, 200))
    local got = {}
    local ok, err = pcall(function()
      for b in vs.dataset{ paths = { bad }, batch = 4, workers = 1 }:batches() do
        for k = 1, #b.frames do
          got[#got + 1] = b.indices[k]
          assert(helper.frame_bytes(b.frames[k]) == oracle[A][b.indices[k] + 1], 'frame ' .. b.indices[k])
        end
      end
    end)
    assert.is_false(ok)
    assert.matches('f6.png', err, 1, true)
    assert.are.same({ 0, 1, 2, 3, 4 }, got)
  end)

  it('skips only the bad images of a folder with on_error=skip, in map too', function()
    if not have_images then pending('PNG loading is not built yet') return end
    local bad = dir .. '/two_bad'
    os.execute('mkdir -p ' .. q(bad) .. ' && cp ' .. q(A) .. '/f*.png ' .. q(bad))
    for _, n in ipairs { 3, 9 } do
      local f = bad .. '/f' .. n .. '.png'
      helper.write_file(f, helper.read_file(f):sub(1, 100))
    end
    local want = { 0, 1, 3, 4, 5, 6, 7, 9, 10, 11 }
    local ds = vs.dataset{ paths = { bad }, batch = 3, workers = 2, on_error = 'skip' }
    local got = {}
    for _, it in ipairs(collect(ds)) do
      assert(it.bytes == oracle[A][it.index + 1], 'frame ' .. it.index)
      got[#got + 1] = it.index
    end
    table.sort(got)
    assert.are.same(want, got)
    assert.are.equal(2, #ds.skipped)
    assert.matches('f3.png', ds.skipped[1], 1, true)
    assert.matches('f9.png', ds.skipped[2], 1, true)
    local results, _, indices = ds:map(function(_, _, index) return index end, { workers = 2 })
    assert.are.same(want, indices)
    assert.are.equal(#want, results.n)
  end)

  it('refuses more than 256 workers or lanes in the options, plan, batches and map', function()
    local ds = vs.dataset{ paths = { A, B } }
    for _, f in ipairs {
      function() vs.dataset{ paths = { A }, workers = 300 } end,
      function() vs.dataset{ paths = { A }, lanes = 300 } end,
      function() ds:plan(300) end,
      function() ds:batches{ workers = 300 } end,
      function() ds:map(function() end, { workers = 300 }) end,
    } do
      local ok, err = pcall(f)
      assert.is_false(ok)
      assert.matches('[a-z]+ must be an integer in %d%.%.256, got 300', err)
    end
    assert.are.equal(2, #ds:plan(256))
  end)

  it('stops a map function stuck in a loop on the first Ctrl-C', function()
    if not have_images then pending('PNG loading is not built yet') return end
    local script = dir .. '/map_loop.lua'
    local started = A .. '.started' -- made by the map function, so the signal comes during the map
    os.remove(started)
    helper.write_file(script, ([[
package.path = %q
local vs = require 'vstudio'
local ds = vs.dataset{ paths = { %q }, workers = 2 }
local ok, err = pcall(ds.map, ds, function(frame, path)
  io.open(path .. '.started', 'w'):close()
  local x = 0
  while true do x = x + 1 end -- JIT-compiled: no hook reaches it, the grace period does
end)
io.stderr:write('map: ', tostring(err), '\n')
-- the abandoned worker still runs: the dataset refuses to go on
io.stderr:write('again: ', select(2, pcall(ds.batches, ds)), '\n')
os.exit(ok and 0 or 3)
]]):format(package.path, A))
    local preload = os.getenv('LD_PRELOAD') and 'LD_PRELOAD=' .. q(os.getenv('LD_PRELOAD')) .. ' ' or ''
    local t0 = os.time()
    local _, err, rc = helper.sh('timeout 60 env ' .. preload .. 'luajit ' .. q(script) .. ' & pid=$!; ' ..
      'for i in $(seq 300); do [ -e ' .. q(started) .. ' ] && break; sleep 0.1; done; kill -INT $pid; wait $pid')
    assert.is_true(helper.exists(started), 'the map function ran')
    assert.are_not.equal(124, rc, 'still running after Ctrl-C')
    assert.are.equal(3, rc, err)
    assert.matches('map: [^\n]*interrupted', err)
    assert.matches('again: [^\n]*make a new dataset', err)
    assert.is_true(os.time() - t0 < 30)
  end)

  it('refuses numbers that do not fit instead of truncating them', function()
    for _, v in ipairs { 2 ^ 32 + 64, math.huge, 0 / 0, 1.5 } do
      for _, opts in ipairs {
        { batch = v }, { workers = v }, { every = v }, { size = { v, 10 } }, { shard = { 1, v } },
        { crop = { x = 0, y = 0, w = v, h = 4 } }, v % 1 ~= 0 and { frames = { 0, v } } or { every = v },
      } do
        opts.paths = { A }
        local ok, err = pcall(vs.dataset, opts)
        assert.is_false(ok, tostring(v))
        assert.matches('vstudio: dataset: ', err, 1, true)
      end
    end
    local ok, err = pcall(vs.dataset, { paths = { A }, batch = 2 ^ 32 + 1 })
    assert.is_false(ok)
    assert.matches('batch must be an integer in 1..65536, got 4294967297', err, 1, true)
  end)

  it('rejects bad options with the option named', function()
    assert.has_error(function() vs.dataset{ paths = { A }, batch = 0 } end,
      'vstudio: dataset: batch must be an integer in 1..65536, got 0')
    assert.has_error(function() vs.dataset{ paths = { A }, sizes = { 1, 2 } } end,
      'vstudio: dataset: unknown option sizes')
    assert.has_error(function() vs.dataset{ paths = {} } end)
  end)
end)

describe('vs.dataset over videos', function()
  it('yields clips of T frames a step apart, starts a stride apart, one clip after another', function()
    if not have_video then pending('video decoding is not built yet') return end
    -- V1: 40 frames; clips of 4 frames 3 apart span 10 frames; starts 5 apart (overlapping): 0, 5, ..., 30
    local ds = vs.dataset{ paths = { V1, A }, clip = { length = 4, step = 3, stride = 5 }, batch = 2, workers = 2 }
    assert.are.equal(7 + 1, ds:count()) -- A: 12 frames hold one clip (start 0)
    local starts = { [V1] = {}, [A] = {} }
    for b in ds:batches() do
      assert.are.equal(0, #b.frames % 4)
      for c = 0, #b.frames / 4 - 1 do
        local s = b.indices[c * 4 + 1]
        table.insert(starts[b.paths[c * 4 + 1]], s)
        for t = 1, 4 do
          local k = c * 4 + t
          assert.are.equal(b.paths[c * 4 + 1], b.paths[k])
          assert.are.equal(s + (t - 1) * 3, b.indices[k])
          assert(helper.frame_bytes(b.frames[k]) == oracle[b.paths[k]][b.indices[k] + 1], 'clip frame ' .. b.indices[k])
        end
      end
    end
    assert.are.same({ 0, 5, 10, 15, 20, 25, 30 }, starts[V1])
    assert.are.same({ 0 }, starts[A])
    assert.has_error(function() ds:map(function() end) end)
    assert.has_error(function() ds:save_npy(dir .. '/clips') end)
    assert.has_error(function() vs.dataset{ paths = { V1 }, clip = { length = 4 }, on_error = 'skip' } end)
    -- with every = 2 the step and stride count kept frames: clips 0 4 8, 6 10 14, ... of V1
    ds = vs.dataset{ paths = { V1 }, clip = { length = 3, step = 2, stride = 3 }, every = 2, batch = 4 }
    assert.are.equal(6, ds:count()) -- 20 kept frames, a clip spans 5 of them: starts 0, 3, ..., 15
    local got = {}
    for b in ds:batches() do
      for k = 1, #b.frames do got[#got + 1] = b.indices[k] end
    end
    assert.are.same({ 0, 4, 8, 6, 10, 14, 12, 16, 20, 18, 22, 26, 24, 28, 32, 30, 34, 38 }, got)
  end)

  it('decodes videos and folders exactly once, pixels equal to ffmpeg', function()
    if not have_video then pending('video decoding is not built yet') return end
    local ds = vs.dataset{ paths = { V1, A, V2 }, batch = 7, workers = 2 }
    assert.are.equal(40 + 12 + 18, ds:count())
    local items = collect(ds)
    assert.are.equal(70, #items)
    local set, dup = keyset(items)
    assert.is_nil(dup)
    for _, it in ipairs(items) do
      local want = oracle[it.path][it.index + 1]
      if it.path == V2 then
        assert.is_true(helper.psnr(it.bytes, want) > 35, 'frame ' .. it.index)
      else
        assert(it.bytes == want, it.path .. ' frame ' .. it.index .. ' differs from ffmpeg')
      end
    end
  end)

  it('keeps every N-th frame of a video with B-frames and keyframes, near or far apart', function()
    if not have_video then pending('video decoding is not built yet') return end
    local v3 = dir .. '/v3.mp4'
    -- temporal noise: every frame differs from its neighbours
    ffmpeg('-f lavfi -i testsrc2=s=64x48:r=25 -frames:v 120 -vf noise=alls=30:allf=t -c:v libx264 -crf 0 -g 10 -bf 2 ' ..
           '-pix_fmt yuv444p ' .. q(v3))
    local want = rgba_of(v3, 64, 48)
    for _, every in ipairs{ 7, 40 } do -- 40: past FORWARD_MAX, the decoder seeks to a keyframe between
      local items = collect(vs.dataset{ paths = { v3 }, every = every, workers = 2 })
      local got = {}
      for _, it in ipairs(items) do
        got[#got + 1] = it.index
        local p = helper.psnr(it.bytes, want[it.index + 1])
        assert.is_true(p > 35, 'every ' .. every .. ' frame ' .. it.index)
        -- labelled right: closer to its own frame than to either neighbour
        if want[it.index] then assert.is_true(p > helper.psnr(it.bytes, want[it.index]), 'frame ' .. it.index) end
        if want[it.index + 2] then assert.is_true(p > helper.psnr(it.bytes, want[it.index + 2]), 'frame ' .. it.index) end
      end
      table.sort(got)
      local expect = {}
      for i = 0, 119, every do expect[#expect + 1] = i end
      assert.are.same(expect, got)
    end
  end)

  it('shards videos into disjoint parts covering every frame', function()
    if not have_video then pending('video decoding is not built yet') return end
    local seen, total = {}, 0
    for i = 1, 4 do
      for _, it in ipairs(collect(vs.dataset{ paths = { V1, V2 }, shard = { i, 4 }, workers = 2, every = 2 })) do
        assert(it.bytes == oracle[V1][it.index + 1] or it.path == V2)
        local k = it.path .. '#' .. it.index
        assert.is_nil(seen[k])
        seen[k] = true
        total = total + 1
      end
    end
    assert.are.equal(20 + 9, total)
  end)

  it('refuses a file that is not a video before decoding, naming it', function()
    if not have_video then pending('video decoding is not built yet') return end
    local bad = dir .. '/garbage.mp4'
    helper.write_file(bad, ('not a video\n'):rep(100))
    local ok, err = pcall(vs.dataset, { paths = { A, bad, V1 } })
    assert.is_false(ok)
    assert.matches('garbage.mp4', err, 1, true)
    local ds = vs.dataset{ paths = { A, bad, V1 }, on_error = 'skip' }
    assert.are.equal(52, ds:count())
    assert.are.equal(52, #collect(ds))
    assert.are.equal(1, #ds.skipped)
  end)

  it('stops at a video corrupt in the middle naming file and frame; on_error=skip goes on', function()
    if not have_video then pending('video decoding is not built yet') return end
    local bad = dir .. '/corrupt.mkv'
    ffmpeg('-f lavfi -i testsrc2=s=64x48:r=25 -frames:v 40 -c:v ffv1 -slicecrc 1 -pix_fmt bgr0 ' .. q(bad))
    local d = helper.read_file(bad)
    local mid = math.floor(#d / 2)
    local junk = {}
    for i = 1, 300 do junk[i] = string.char((d:byte(mid + i) * 7 + 13) % 256) end
    helper.write_file(bad, d:sub(1, mid) .. table.concat(junk) .. d:sub(mid + 301))
    local seen = 0
    local ok, err = pcall(function()
      for b in vs.dataset{ paths = { A, bad, V1 }, workers = 1, batch = 4 }:batches() do seen = seen + #b.frames end
    end)
    assert.is_false(ok)
    assert.matches('corrupt.mkv: frame %d+', err)
    local _, named = err:gsub('corrupt%.mkv', '')
    assert.are.equal(1, named, 'the file is named once: ' .. err)
    assert.is_true(seen >= 12)
    local ds = vs.dataset{ paths = { A, bad, V1 }, on_error = 'skip', workers = 2 }
    local items = collect(ds)
    local per = {}
    for _, it in ipairs(items) do per[it.path] = (per[it.path] or 0) + 1 end
    assert.are.equal(12, per[A])
    assert.are.equal(40, per[V1])
    assert.is_true((per[bad] or 0) < 40)
    assert.are.equal(1, #ds.skipped)
    assert.matches('corrupt.mkv: frame %d+', ds.skipped[1])
  end)


  -- The conversion from the decoded YUV planes crops and resizes in one
  -- swscale pass at the output size (area average when shrinking). ffmpeg's
  -- crop and scale filters do the same with the same libswscale, so the
  -- pixels agree to rounding: at most 1 level apart, mean under 0.05
  -- (measured: 0). A crop off the 4:2:0 chroma grid (odd x or y) is cut
  -- from the whole RGBA frame instead, as ffmpeg's format=rgba,crop does.
  it('crops and resizes videos in the conversion from YUV, as ffmpeg crop and scale do', function()
    local v = dir .. '/wide.mp4'
    ffmpeg('-f lavfi -i testsrc2=s=320x180:r=25,noise=alls=20:allf=t -frames:v 6 -c:v libx264 -pix_fmt yuv420p ' .. q(v))
    local function same(opts, graph, w, h)
      opts.paths = { v }
      local got = collect(vs.dataset(opts))
      local want = rgba_of_graph(v, graph, w, h)
      assert.are.equal(#want, #got)
      for k, it in ipairs(got) do
        assert.are.same({ w, h }, { it.w, it.h })
        local most, sum = 0, 0
        for i = 1, #it.bytes do
          local d = math.abs(it.bytes:byte(i) - want[k]:byte(i))
          most, sum = math.max(most, d), sum + d
        end
        assert(most <= 1 and sum / #it.bytes < 0.05,
          ('%s: frame %d: max %d, mean %.3f from ffmpeg'):format(graph, k - 1, most, sum / #it.bytes))
      end
    end
    same({ size = { 64, 64 } }, 'scale=64:64:flags=area,format=rgba', 64, 64)
    same({ size = { 64, 64 }, resize = 'fit' }, 'scale=64:36:flags=area,format=rgba,pad=64:64:0:14:black', 64, 64)
    same({ size = { 64, 64 }, resize = 'fill' }, 'crop=180:180:70:0,scale=64:64:flags=area,format=rgba', 64, 64)
    same({ size = { 50, 30 }, crop = { x = 40, y = 20, w = 200, h = 120 } },
      'crop=200:120:40:20,scale=50:30:flags=area,format=rgba', 50, 30)
    same({ crop = { x = 40, y = 20, w = 200, h = 120 } }, 'crop=200:120:40:20,format=rgba', 200, 120)
    same({ size = { 50, 30 }, crop = { x = 41, y = 21, w = 200, h = 120 } },
      'format=rgba,crop=200:120:41:21,scale=50:30:flags=area', 50, 30)
    same({ size = { 640, 360 } }, 'scale=640:360:flags=bicubic,format=rgba', 640, 360) -- enlarging: bicubic
  end)
end)
