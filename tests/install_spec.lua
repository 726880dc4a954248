-- make install: the installed vstudio finds its library and Lua modules
-- relative to the prefix, not the source tree.
local h = require 'helper'

describe('make install', function()
  after_each(h.cleanup)

  it('installs a vstudio that runs from its prefix alone', function()
    local dest = h.tmpdir()
    local build = os.getenv('BUILD') or 'build'
    local _, err, rc = h.sh('make --no-print-directory install BUILD=' .. h.q(build) .. ' PREFIX=/opt/vs DESTDIR=' .. h.q(dest))
    assert.are.equal(0, rc, err)
    local prefix = dest .. '/opt/vs'
    for _, f in ipairs { '/bin/vstudio', '/lib/libvstudio.so', '/share/vstudio/lua/vstudio/init.lua',
                         '/share/vstudio/lua/vstudio/core.lua', '/share/man/man1/vstudio.1' } do
      assert.is_true(h.exists(prefix .. f), f)
    end
    local script = dest .. '/s.lua'
    h.write_file(script, "local vs = require 'vstudio'\n" ..
      "return vs.clip{ size = {32, 32}, fps = 5, duration = 1, draw = function(f, t) f:fill(9, 9, 9) end }\n")
    -- from another directory, with no hint of the source tree
    local out
    out, err, rc = h.sh('cd / && env -u VSTUDIO_LUA_DIR -u VSTUDIO_LIB -u LUA_PATH ' .. h.q(prefix .. '/bin/vstudio') ..
      ' run ' .. h.q(script) .. ' -q -o ' .. h.q(dest .. '/o.mp4'))
    assert.are.equal(0, rc, out .. err)
    assert.are.equal(5, h.ffprobe_frames(dest .. '/o.mp4'))
    -- and Python imports the installed package, which finds the installed library
    local pydir = prefix .. '/lib/python3/dist-packages'
    -- (make check installs an ASan library: python3 then needs the runtime first, as luajit does)
    local preload = os.getenv('VSTUDIO_SANITIZE') == 'address' and
      'LD_PRELOAD="$(cc -print-file-name=libasan.so) $(cc -print-file-name=libubsan.so)" ' or ''
    out, err, rc = h.sh('cd / && ' .. preload .. 'env -u VSTUDIO_LIB PYTHONPATH=' .. h.q(pydir) .. ' /usr/bin/python3 -c ' ..
      h.q('import vstudio; print(vstudio.__file__); print(vstudio.probe(' .. ("%q"):format(dest .. '/o.mp4') .. ')["frames"])'))
    assert.are.equal(0, rc, out .. err)
    assert.are.equal(pydir .. '/vstudio/__init__.py\n5\n', out)
  end)
end)
