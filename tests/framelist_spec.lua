-- framelist_spec.lua: the order of a folder's frames (vs_frame_list_*),
-- shared by `vstudio convert` and vs.dataset{}.
local vs = require 'vstudio'
local ffi = require 'ffi'
local helper = require 'helper'
local C = require('vstudio.core').C

local function touch(dir, names)
  for _, n in ipairs(names) do helper.write_file(dir .. '/' .. n, 'x') end
end

local function list(dir, sort)
  local l = C.vs_frame_list_open(dir, sort)
  if l == nil then return nil, ffi.string(C.vs_last_error()) end
  local names = {}
  for i = 0, tonumber(C.vs_frame_list_count(l)) - 1 do
    names[#names + 1] = ffi.string(C.vs_frame_list_path(l, i)):match('[^/]+$')
  end
  local w = C.vs_frame_list_warning(l)
  local r = { names = names, ignored = tonumber(C.vs_frame_list_ignored(l)),
              warning = w ~= nil and ffi.string(w) or nil }
  C.vs_frame_list_free(l)
  return r
end

describe('frame folder order', function()
  after_each(helper.cleanup)
  assert(vs) -- loads the library

  it('sorts frame_2 before frame_10, with mixed padding and several numbers', function()
    local d = helper.tmpdir()
    touch(d, { 'frame_10.png', 'frame_2.png', 'frame_1.png', 'frame_010.png', 'frame_9.JPG' })
    assert.are.same({ 'frame_1.png', 'frame_2.png', 'frame_9.JPG', 'frame_10.png', 'frame_010.png' },
      list(d).names)
    local e = helper.tmpdir()
    touch(e, { 's2_f10.png', 's10_f1.png', 's2_f9.png', 's1_f100.png' })
    assert.are.same({ 's1_f100.png', 's2_f9.png', 's2_f10.png', 's10_f1.png' }, list(e).names)
  end)

  it('sorts by bytes with name and by the captured number with a regex', function()
    local d = helper.tmpdir()
    touch(d, { 'b_3.png', 'a_20.png', 'a_3.png', 'c_1.png' })
    assert.are.same({ 'a_20.png', 'a_3.png', 'b_3.png', 'c_1.png' }, list(d, 'name').names)
    local e = helper.tmpdir()
    touch(e, { 'x9_take7.png', 'x1_take12.png', 'x5_take8.png', 'notes.png' })
    local r = list(e, 'take([0-9]+)')
    assert.are.same({ 'x9_take7.png', 'x5_take8.png', 'x1_take12.png' }, r.names)
    assert.are.equal(1, r.ignored)
  end)

  it('ignores non-images, folders and dot files, and counts them', function()
    local d = helper.tmpdir()
    touch(d, { '1.png', '2.jpeg', 'readme.txt', '._3.png', 'Thumbs.db' })
    os.execute('mkdir ' .. helper.q(d .. '/sub.png'))
    local r = list(d)
    assert.are.same({ '1.png', '2.jpeg' }, r.names)
    assert.are.equal(4, r.ignored)
  end)

  it('warns about gaps and duplicates, naming them', function()
    local d = helper.tmpdir()
    touch(d, { 'f0001.png', 'f0002.png', 'f0004.png', 'f0008.png', 'f0008.jpg', 'f0009.png' })
    local w = list(d).warning
    assert.matches('gaps: 4 frame numbers missing %(3, 5%-7%)', w)
    assert.matches('duplicates: 1 number used twice or more %(f0008%.jpg = f0008%.png%)', w)
    local e = helper.tmpdir()
    touch(e, { 'cam1_1.png', 'cam1_2.png', 'cam2_1.png', 'cam2_2.png' })
    assert.is_nil(list(e).warning)
    -- several numbered groups: each gap says whose it is
    local g = helper.tmpdir()
    touch(g, { 'c1_f1.png', 'c1_f2.png', 'c1_f5.png', 'c2_f1.png', 'c2_f4.png', 'c2_f5.png' })
    assert.matches('gaps: 4 frame numbers missing %(c1_f#: 3%-4, c2_f#: 2%-3%)', list(g).warning)
  end)

  it('explains a bad folder or regex', function()
    local r, err = list('/nonexistent/frames')
    assert.is_nil(r)
    assert.matches('/nonexistent/frames: no such folder', err)
    local d = helper.tmpdir()
    r, err = list(d, '[0-9]+')
    assert.is_nil(r)
    assert.matches('needs exactly one capture group', err)
    r, err = list(d, '(')
    assert.is_nil(r)
    assert.matches('neither natural, name nor a valid regex', err)
  end)
end)
