-- dataset.lua: vs.dataset{}, the frames of many videos and image folders in
-- batches, decoded by C worker threads (src/dataset.c).
--
--   local ds = vs.dataset{ paths = {...}, batch = 16, workers = 4, size = {224, 224} }
--   ds:count()                       frames a full iteration yields (probe cache, no decoding)
--   for b in ds:batches() do ... end  b.frames[k], b.paths[k], b.indices[k], b.files[k], k = 1..#b.frames
--                                    (clip = {length = T, ...}: T frames per clip, one clip after another)
--   ds:map(fn, {workers=})           fn(frame, path, index) on worker threads, results in order
--   ds:save_npy(dir, {layout=, dtype=})
--
-- Order: the sources go to `lanes` lanes (8 unless set; longest first onto
-- the least loaded lane), each lane decodes its sources one after another in
-- the order given, and the batches take the next frame from the lane least
-- far along its share (lanes advance in proportion to their lengths and end
-- together; equal lanes take turns). `workers` of the lanes decode at once: the
-- worker count changes the speed, never the batches, which are the same
-- every run, on any machine, for the same paths and options. ds:map returns
-- results in source order.
-- Frames in a batch belong to the dataset: valid until the next batch (copy
-- them with frame:copy() to keep them).
local ffi = require 'ffi'
local core = require 'vstudio.core'
local check = require 'vstudio.check'
local C = core.C

local Dataset = {}
Dataset.__index = Dataset

local function fail(msg)
  check.fail('dataset: %s', msg)
end

local function is_int(v) return type(v) == 'number' and v % 1 == 0 end

-- The limits dataset.c takes.
local MAX_BATCH, MAX_WORKERS = 65536, 256
local MAX_INDEX = 2 ^ 53

local function int(v, lo, hi, what) return check.int(v, lo, hi, 'dataset: ' .. what) end

local function last_error() return ffi.string(C.vs_last_error()) end

local function pair(v, name, hi)
  if type(v) ~= 'table' or not is_int(v[1]) or not is_int(v[2]) then
    local got = type(v) == 'table' and ('{%s, %s}'):format(tostring(v[1]), tostring(v[2])) or tostring(v)
    fail(name .. ' must be a table of two integers {a, b}, got ' .. got)
  end
  hi = hi or MAX_INDEX
  return int(v[1], -hi, hi, name .. '[1]'), int(v[2], -hi, hi, name .. '[2]')
end

-- Options to the C struct; every check names the option and the bad value.
local function options(opts)
  local o = ffi.new('vs_dataset_options')
  C.vs_dataset_options_init(o)
  if opts.batch ~= nil then o.batch = int(opts.batch, 1, MAX_BATCH, 'batch') end
  if opts.workers ~= nil then o.workers = int(opts.workers, 1, MAX_WORKERS, 'workers') end
  if opts.lanes ~= nil then o.lanes = int(opts.lanes, 1, MAX_WORKERS, 'lanes') end
  if opts.clip ~= nil then
    local c = opts.clip
    if type(c) ~= 'table' then fail('clip must be {length = T, stride = S, step = k}, got ' .. tostring(c)) end
    for k in pairs(c) do
      if k ~= 'length' and k ~= 'stride' and k ~= 'step' then fail('clip: unknown field ' .. tostring(k)) end
    end
    o.clip_length = int(c.length, 1, 4096, 'clip: length')
    o.clip_step = int(c.step or 1, 1, core.INT_MAX, 'clip: step')
    o.clip_stride = int(c.stride or o.clip_length * o.clip_step, 1, core.INT_MAX, 'clip: stride')
  end
  if opts.resize ~= nil then
    local mode = ({ stretch = C.VS_DATASET_STRETCH, fit = C.VS_DATASET_FIT, fill = C.VS_DATASET_FILL })[opts.resize]
    if not mode then fail("resize must be 'stretch', 'fit' or 'fill', got " .. tostring(opts.resize)) end
    o.resize = mode
  end
  if opts.size ~= nil then
    local w, h = pair(opts.size, 'size', core.MAX_SIDE)
    if w < 1 or h < 1 then fail(('size must be positive, got {%d, %d}'):format(w, h)) end
    o.width, o.height = w, h
  end
  if opts.crop ~= nil then
    local c = opts.crop
    if type(c) ~= 'table' then fail('crop must be {x=, y=, w=, h=}, got ' .. tostring(c)) end
    local x, y, w, h = c.x or c[1] or 0, c.y or c[2] or 0, c.w or c[3], c.h or c[4]
    if not (is_int(x) and is_int(y) and is_int(w) and is_int(h)) or x < 0 or y < 0 or w < 1 or h < 1 then
      fail('crop must be {x=, y=, w=, h=} with x, y >= 0 and w, h >= 1')
    end
    int(x, 0, core.MAX_SIDE, 'crop: x')
    int(y, 0, core.MAX_SIDE, 'crop: y')
    int(w, 1, core.MAX_SIDE, 'crop: w')
    int(h, 1, core.MAX_SIDE, 'crop: h')
    o.crop_x, o.crop_y, o.crop_w, o.crop_h = x, y, w, h
  end
  if opts.gray ~= nil then o.gray = opts.gray and 1 or 0 end
  if opts.every ~= nil then o.every = int(opts.every, 1, core.INT_MAX, 'every') end
  local frames = opts.frames
  if frames ~= nil and frames ~= 'all' then
    if type(frames) == 'string' then
      local a, b = ffi.new('int64_t[1]'), ffi.new('int64_t[1]')
      if C.vs_parse_frame_range(frames, a, b) < 0 then fail('frames: ' .. last_error()) end
      o.first, o['end'] = a[0], b[0]
    else
      local a, b = pair(frames, 'frames')
      if a < 0 or b <= a then fail(('frames {%d, %d}: need 0 <= A < B (frames A..B-1)'):format(a, b)) end
      o.first, o['end'] = a, b
    end
  end
  if opts.shard ~= nil then
    local i, n = pair(opts.shard, 'shard', core.INT_MAX)
    if n < 1 or i < 1 or i > n then
      fail(('shard {%d, %d}: need 1 <= i <= n (shards are numbered from 1)'):format(i, n))
    end
    o.shard_index, o.shard_count = i - 1, n
  end
  if opts.sort ~= nil then
    if type(opts.sort) ~= 'string' then
      fail("sort must be 'natural', 'name' or a regex with one capture group, got " .. tostring(opts.sort))
    end
    o.sort = opts.sort
  end
  local on_error = opts.on_error or 'error'
  if on_error ~= 'error' and on_error ~= 'skip' then
    fail("on_error must be 'error' or 'skip', got " .. tostring(on_error))
  end
  o.skip_errors = on_error == 'skip' and 1 or 0
  return o
end

local known = { paths = true, batch = true, workers = true, lanes = true, size = true, resize = true, crop = true, gray = true,
  shuffle = true, clip = true,
  every = true, frames = true, shard = true, sort = true, on_error = true }

local function new_dataset(opts)
  if type(opts) ~= 'table' then fail('expects a table of options, e.g. vs.dataset{paths = {...}}') end
  for k in pairs(opts) do
    if not known[k] then fail('unknown option ' .. tostring(k)) end
  end
  local paths = opts.paths
  if type(paths) == 'string' then paths = { paths } end
  if type(paths) ~= 'table' or #paths == 0 then fail('paths must be a non-empty list of videos and image folders') end
  -- An entry is a path or {path, frames = {A, B}} (that source's own range).
  local entries = {}
  for k, p in ipairs(paths) do
    local e = { first = -1, last = -1 }
    if type(p) == 'table' then
      e.path = p.path or p[1]
      if p.frames ~= nil then
        e.first, e.last = pair(p.frames, 'paths[' .. k .. '].frames')
        if e.first < 0 or e.last <= e.first then
          fail(('paths[%d].frames {%d, %d}: need 0 <= A < B (frames A..B-1)'):format(k, e.first, e.last))
        end
      end
    else
      e.path = p
    end
    if type(e.path) ~= 'string' then
      fail('paths[' .. k .. '] must be a path or {path, frames = {A, B}}, got ' .. type(e.path))
    end
    entries[k] = e
  end
  local seed, chunk
  if opts.shuffle ~= nil then
    -- a seeded order of the sources, which everything after (shards, lanes) follows;
    -- {seed = s, chunk = n}: then the chunks of n samples of every source, in the seed's order
    local sh = opts.shuffle
    if type(sh) == 'table' then
      for k in pairs(sh) do
        if k ~= 'seed' and k ~= 'chunk' then fail('shuffle: unknown key ' .. tostring(k) .. ' (seed, chunk)') end
      end
      chunk = int(sh.chunk or 0, 0, 2 ^ 53, 'shuffle: chunk')
      sh = sh.seed
    end
    seed = int(sh, 0, 2 ^ 53, 'shuffle')
    local order = ffi.new('int32_t[?]', #entries)
    C.vs_dataset_shuffle(#entries, seed, order)
    local shuffled = {}
    for k = 1, #entries do shuffled[k] = entries[order[k - 1] + 1] end
    entries = shuffled
  end
  local o = options(opts)
  if chunk and chunk > 0 then o.shuffle_chunk, o.shuffle_seed = chunk, seed end
  -- Every missing path at once, before anything is probed or decoded.
  local missing = {}
  for _, e in ipairs(entries) do
    if C.vs_dataset_path_kind(e.path) == C.VS_PATH_MISSING then missing[#missing + 1] = e.path end
  end
  if #missing > 0 then
    fail(('%d of %d paths not found: %s'):format(#missing, #paths, table.concat(missing, ', ')))
  end
  local sort = o.sort -- keep the string alive while C copies the options
  local h = core.check(C.vs_dataset_new(o), 'dataset')
  h = ffi.gc(h, C.vs_dataset_free)
  local self = setmetatable({ handle = h, paths = paths, source_paths = {}, skipped = {},
    batch_size = o.batch, workers = o.workers, gray = o.gray == 1, _sort = sort,
    clip_length = math.max(o.clip_length, 1),
    skip_errors = o.skip_errors == 1 }, Dataset)
  if #entries > 1 then
    local list = ffi.new('const char *[?]', #entries)
    for k, e in ipairs(entries) do list[k - 1] = e.path end
    C.vs_dataset_prefetch(list, #entries, o.workers > 0 and o.workers or 4)
  end
  for _, e in ipairs(entries) do
    if C.vs_dataset_add(h, e.path, e.first, e.last) < 0 then
      if not self.skip_errors then fail(last_error()) end
      self.skipped[#self.skipped + 1] = last_error()
    else
      self.source_paths[#self.source_paths + 1] = e.path
    end
  end
  self._probe_skipped = { unpack(self.skipped) }
  return self
end

function Dataset:count()
  return tonumber(C.vs_dataset_count(self.handle))
end

-- How the lanes share the sources (this many lanes, default the options'):
-- plan[l] lists the paths lane l (1-based) decodes, in order (longest first
-- onto the least loaded lane decides which; each lane then goes in source order).
function Dataset:plan(lanes)
  lanes = int(lanes or 0, 0, MAX_WORKERS, 'plan: lanes')
  local n = #self.source_paths
  local of = ffi.new('int32_t[?]', n + 1)
  local nw = C.vs_dataset_plan(self.handle, lanes, of)
  if nw < 0 then fail('plan: ' .. last_error()) end
  local plan = {}
  for w = 1, nw do plan[w] = {} end
  for s = 0, n - 1 do
    local w = of[s] + 1
    if w > 0 then table.insert(plan[w], self.source_paths[s + 1]) end
  end
  return plan
end

-- After a run: sources and images skipped under on_error='skip', reported on stderr once.
function Dataset:_report()
  local list = { unpack(self._probe_skipped) }
  for k = 0, C.vs_dataset_skipped(self.handle) - 1 do
    list[#list + 1] = ffi.string(C.vs_dataset_skipped_message(self.handle, k))
  end
  self.skipped = list
  if #list > 0 then
    local s = #list == 1 and '' or 's'
    io.stderr:write(('vstudio: dataset: skipped %d bad source%s or image%s:\n'):format(#list, s, s))
    for _, m in ipairs(list) do io.stderr:write('  ', m, '\n') end
  end
end

-- Iterator over batches. Starting it again restarts from the beginning.
function Dataset:batches(opts)
  local workers = int(opts and opts.workers or 0, 0, MAX_WORKERS, 'batches: workers')
  core.check(C.vs_dataset_start(self.handle, workers), 'dataset')
  self._run = (self._run or 0) + 1
  local run = self._run
  local n = self.batch_size * self.clip_length
  local frames = ffi.new('vs_frame *[?]', n)
  local sources = ffi.new('int32_t[?]', n)
  local indices = ffi.new('int64_t[?]', n)
  local source_paths = self.source_paths
  local done = false
  return function()
    if done then return nil end
    if self._run ~= run then
      fail('this batches() loop was ended by a newer ds:batches(), ds:map() or ds:save_npy()')
    end
    local got = C.vs_dataset_next(self.handle, frames, sources, indices)
    if got < 0 then
      done = true
      fail(last_error())
    end
    if got == 0 then
      done = true
      self:_report()
      return nil
    end
    local b = { frames = {}, paths = {}, indices = {}, files = {} }
    for k = 1, got do
      b.frames[k] = frames[k - 1]
      b.paths[k] = source_paths[sources[k - 1] + 1]
      b.indices[k] = tonumber(indices[k - 1])
      b.files[k] = ffi.string(C.vs_dataset_file(self.handle, sources[k - 1], indices[k - 1]))
    end
    return b
  end
end

-- decode_value: the inverse of encode_value in dataset.c.
local function decode_value(s, i)
  local tag = s:sub(i, i)
  if tag == 'z' then return nil, i + 1 end
  if tag == 't' then return true, i + 1 end
  if tag == 'f' then return false, i + 1 end
  if tag == 'n' then
    local j = s:find(';', i, true)
    return tonumber(s:sub(i + 1, j - 1)), j + 1
  end
  if tag == 's' then
    local j = s:find(':', i, true)
    local len = tonumber(s:sub(i + 1, j - 1))
    return s:sub(j + 1, j + len), j + len + 1
  end
  if tag == 'T' then
    local t = {}
    i = i + 1
    while s:sub(i, i) ~= 'E' do
      local k, v
      k, i = decode_value(s, i)
      v, i = decode_value(s, i)
      t[k] = v
    end
    return t, i + 1
  end
  error('vstudio: dataset: map: cannot decode a result (tag ' .. tag .. ')')
end

-- Runs fn(frame, path, index) on every frame, on worker threads, each with
-- its own Lua state. fn travels as bytecode (string.dump), so it must not
-- use upvalues: require what it needs inside (local vs = require 'vstudio');
-- or fn is 'module:function', required in each worker.
-- It returns nil, a boolean, number, string or a table of them. Results come
-- in the dataset's order (sources as given, then frame index; with shuffle
-- chunks, the chunks' order), whatever the workers: results[k], paths[k], indices[k] for k = 1..results.n.
function Dataset:map(fn, opts)
  self._run = (self._run or 0) + 1
  local chunk
  if type(fn) == 'string' then
    -- 'module:function': each worker requires the module (with this state's package.path).
    local mod, name = fn:match('^([%w_%.%-/]+):([%w_]+)$')
    if not mod then fail("map: fn must be a function or 'module:function', got '" .. fn .. "'") end
    local ok, m = pcall(require, mod)
    if not ok then fail('map: cannot load ' .. mod .. ': ' .. tostring(m)) end
    if type(m) ~= 'table' or type(m[name]) ~= 'function' then
      fail(("map: module '%s' has no function '%s'"):format(mod, name))
    end
    chunk = ('package.path = %q; package.cpath = %q; return require(%q)[%q](...)'):format(
      package.path, package.cpath, mod, name)
  elseif type(fn) == 'function' then
    local name = debug.getupvalue(fn, 1)
    if name then
      fail(("map: fn uses the upvalue '%s'; it runs in other Lua states, so it must be self-contained " ..
            "(require modules inside it) or be given as 'module:function'"):format(name))
    end
    chunk = string.dump(fn)
  else
    fail("map: fn must be a function or 'module:function', got " .. type(fn))
  end
  local workers = int(opts and opts.workers or 0, 0, MAX_WORKERS, 'map: workers')
  if C.vs_dataset_map(self.handle, chunk, #chunk, workers) < 0 then fail(last_error()) end
  local results, paths, indices = { n = 0 }, {}, {}
  local len, src, idx = ffi.new('size_t[1]'), ffi.new('int32_t[1]'), ffi.new('int64_t[1]')
  local m = 0
  for k = 0, self:count() - 1 do
    local p = C.vs_dataset_map_result(self.handle, k, len, src, idx)
    if p ~= nil then
      m = m + 1
      results[m] = decode_value(ffi.string(p, len[0]), 1)
      paths[m] = self.source_paths[src[0] + 1]
      indices[m] = tonumber(idx[0])
    end
  end
  results.n = m
  self:_report()
  return results, paths, indices
end

pcall(ffi.cdef, 'int mkdir(const char *path, unsigned int mode);')

-- mkdir -p without a shell.
local function mkdir_p(dir)
  local path = dir:sub(1, 1) == '/' and '' or '.'
  for part in dir:gmatch('[^/]+') do
    path = path .. '/' .. part
    if C.vs_dataset_path_kind(path) == C.VS_PATH_MISSING then ffi.C.mkdir(path, tonumber('777', 8)) end
  end
end

local function csv_field(s)
  s = tostring(s)
  if s:find('[,"\n\r]') then return '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local function batch_file(k) return ('batch_%06d.npy'):format(k) end

-- index.csv through a temporary renamed over it: every write checked, so a
-- full disk is an error, never a short index taken as complete.
local function write_index(path, rows)
  local csv = table.concat(rows, '\n') .. '\n'
  if C.vs_file_write(path, csv, #csv) < 0 then fail('save_npy: ' .. last_error()) end
end

-- One .npy per batch (batch_000000.npy, ...) and index.csv (file,row,path,index,
-- source_file: the image of a frame folder, the video itself).
-- index.csv is written last: a folder without it holds no complete export
-- (the old one is removed first, and batch files past the new last one
-- after, so nothing of an earlier, longer export stays).
-- layout 'nhwc' (default) or 'nchw'; dtype 'uint8' (default) or 'float32'
-- (scaled to [0, 1]); 3 channels RGB, or 1 when the dataset is gray.
function Dataset:save_npy(dir, opts)
  if type(dir) ~= 'string' then fail('save_npy: dir must be a string') end
  opts = opts or {}
  local layout = opts.layout or 'nhwc'
  local dtype = opts.dtype or 'uint8'
  if layout ~= 'nhwc' and layout ~= 'nchw' then fail("save_npy: layout must be 'nhwc' or 'nchw', got " .. tostring(layout)) end
  if dtype ~= 'uint8' and dtype ~= 'float32' then fail("save_npy: dtype must be 'uint8' or 'float32', got " .. tostring(dtype)) end
  local kind = C.vs_dataset_path_kind(dir)
  if kind == C.VS_PATH_FILE then fail('save_npy: ' .. dir .. ' is a file, not a folder') end
  if kind == C.VS_PATH_MISSING then
    mkdir_p(dir)
    if C.vs_dataset_path_kind(dir) ~= C.VS_PATH_DIR then fail('save_npy: cannot create the folder ' .. dir) end
  end
  local index = dir .. '/index.csv'
  local removed, rerr = os.remove(index)
  if not removed and C.vs_dataset_path_kind(index) ~= C.VS_PATH_MISSING then
    fail('save_npy: cannot remove the old ' .. index .. ': ' .. tostring(rerr))
  end
  if self.clip_length > 1 then fail('save_npy: clips are not exported yet; make the dataset without clip') end
  local channels = self.gray and 1 or 3
  local rows = { 'file,row,path,index,source_file' }
  local files = 0
  -- the workers write each batch straight into its array, which goes to the file as it is
  local n = self.batch_size
  local array, width, height = ffi.new('void *[1]'), ffi.new('int[1]'), ffi.new('int[1]')
  local sources, indices = ffi.new('int32_t[?]', n), ffi.new('int64_t[?]', n)
  -- the names checked above are the enums' (VS_NPY_NCHW, VS_NPY_FLOAT32...)
  layout, dtype = 'VS_NPY_' .. layout:upper(), 'VS_NPY_' .. dtype:upper()
  core.check(C.vs_dataset_start_arrays(self.handle, 0, layout, dtype, channels), 'dataset')
  self._run = (self._run or 0) + 1
  while true do
    local got = C.vs_dataset_next_array(self.handle, -1, array, width, height, sources, indices)
    if got < 0 then fail(last_error()) end
    if got == 0 then break end
    local data = ffi.gc(array[0], C.vs_dataset_array_free)
    local file = batch_file(files)
    for k = 0, got - 1 do
      local path = self.source_paths[sources[k] + 1]
      local source_file = ffi.string(C.vs_dataset_file(self.handle, sources[k], indices[k]))
      rows[#rows + 1] = table.concat({ file, k, csv_field(path), tonumber(indices[k]), csv_field(source_file) }, ',')
    end
    local rc = C.vs_npy_write(dir .. '/' .. file, data, got, width[0], height[0], layout, dtype, channels)
    C.vs_dataset_array_free(ffi.gc(data, nil))
    if rc < 0 then
      C.vs_dataset_stop(self.handle)
      fail('save_npy: ' .. last_error())
    end
    files = files + 1
  end
  self:_report()
  local k = files
  while C.vs_dataset_path_kind(dir .. '/' .. batch_file(k)) == C.VS_PATH_FILE do
    local ok, err = os.remove(dir .. '/' .. batch_file(k))
    if not ok then fail('save_npy: cannot remove the stale ' .. batch_file(k) .. ': ' .. tostring(err)) end
    k = k + 1
  end
  write_index(index, rows)
  return files
end

local M = {}

function M.install(vs)
  vs.dataset = new_dataset
end

return M
