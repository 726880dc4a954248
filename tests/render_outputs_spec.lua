-- A render with several outputs commits all of them or none: every output is finished into
-- its temporary (trailer, flush, fsync) before any is renamed to its name, so a failure at
-- the last output's finish leaves none behind, the earlier ones neither.
local h = require 'helper'

-- noise (so the encoder has something to write) and a tone
local NOISE = [[
local vs = require 'vstudio'
return vs.clip{ size = {64, 48}, fps = 25, duration = 2,
  draw = function(frame, t)
    for y = 0, frame.height - 1 do
      local row = frame:row(y)
      for x = 0, frame.width * 4 - 1 do row[x] = (x * 7919 + y * 104729 + math.floor(t * 25) * 31) % 251 end
    end
  end }:with_audio(vs.tone{ freq = 220, duration = 2, volume = 0.2 })
]]

-- The size of an MP4's moov box (faststart puts it after ftyp).
local function moov_size(path)
  local data = h.read_file(path)
  local at = 1
  while at + 7 <= #data do
    local a, b, c, d = data:byte(at, at + 3)
    local size = ((a * 256 + b) * 256 + c) * 256 + d
    if data:sub(at + 4, at + 7) == 'moov' then return size end
    if size < 8 then break end
    at = at + size
  end
  error(path .. ': no moov box')
end

describe('run: several outputs', function()
  local dir, script
  before_each(function()
    dir = h.tmpdir()
    script = dir .. '/noise.lua'
    h.write_file(script, NOISE)
  end)
  after_each(h.cleanup)

  it("commit none when the last one's trailer crosses a file size limit (image sequences neither)", function()
    -- a free run gives the sizes: the mp4's data before its trailer is the file less its moov
    -- (faststart moves the moov to the front at the trailer, so the file grows only there)
    -- the other outputs well below the mp4 (ulimit -f limits each file): frames and the sound alone
    local frames, opus, mp4 = dir .. '/frames/', dir .. '/a.opus', dir .. '/b.mp4'
    local outputs = ' -o ' .. h.q(frames) .. ' -o ' .. h.q(opus) .. ' -o ' .. h.q(mp4)
    local _, err, rc = h.vstudio('run ' .. h.q(script) .. ' -q --workers 1' .. outputs)
    assert.are.equal(0, rc, err)
    assert.are.equal(50, #h.ls(frames))
    local final = #h.read_file(mp4)
    local before_trailer = final - moov_size(mp4)
    -- ulimit -f counts 512-byte blocks in sh: a limit between the two, above the opus
    local blocks = math.floor((before_trailer + final) / 2 / 512)
    assert.truthy(#h.read_file(opus) < blocks * 512 and before_trailer < blocks * 512 and blocks * 512 < final,
                  ('opus %d, mp4 %d before its trailer, %d after: no limit fits'):format(#h.read_file(opus),
                                                                                    before_trailer, final))
    os.execute('rm -r ' .. h.q(frames) .. ' ' .. h.q(opus) .. ' ' .. h.q(mp4))
    _, err, rc = h.sh(("trap '' XFSZ; ulimit -f %d; %s run %s -q --workers 1"):format(blocks, h.q(h.bin),
                                                                                 h.q(script)) .. outputs)
    assert.are.equal(1, rc, err)
    assert.truthy(err:find('vstudio: run: ' .. mp4 .. ': ', 1, true), err)
    assert.truthy(err:find('File too large; no output written', 1, true), err)
    assert.is_false(h.exists(frames))
    assert.is_false(h.exists(opus))
    assert.is_false(h.exists(mp4))
    assert.are.same({}, h.temporaries(dir))
  end)

  it("commit none when a sound file's data cannot be made durable (fsync fails)", function()
    -- a disk that loses the .wav: fsync of its temporary fails, after every write succeeded
    local preload = h.preload_shim(dir, 'bad_fsync', [[
#define _GNU_SOURCE
#include <errno.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int fsync(int fd)
{
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, path, sizeof path - 1);
    if (len > 0) {
        path[len] = 0;
        if (strstr(path, "/.b.wav.") && strstr(path, ".part")) {
            errno = EIO;
            return -1;
        }
    }
    return real(fd);
}
]])
    local _, err, rc
    local mp4, wav, mkv = dir .. '/a.mp4', dir .. '/b.wav', dir .. '/c.mkv'
    _, err, rc = h.sh(preload .. h.q(h.bin) .. ' run ' .. h.q(script) .. ' -q -o ' .. h.q(mp4) .. ' -o ' .. h.q(wav) ..
                      ' -o ' .. h.q(mkv))
    assert.are.equal(1, rc, err)
    assert.truthy(err:find('vstudio: run: ' .. wav .. ': write failed: Input/output error; no output written', 1,
                           true), err)
    assert.is_false(h.exists(mp4))
    assert.is_false(h.exists(wav))
    assert.is_false(h.exists(mkv))
    assert.are.same({}, h.temporaries(dir))
    -- a stream on stdout is out before the end: the message does not claim it was taken back
    local piped = dir .. '/piped.y4m'
    _, err, rc = h.sh(preload .. h.q(h.bin) .. ' run ' .. h.q(script) .. ' -q -o - -o ' .. h.q(wav) .. ' > ' .. h.q(piped))
    assert.are.equal(1, rc, err)
    assert.truthy(err:find('vstudio: run: ' .. wav .. ': write failed: Input/output error; no file written ' ..
                           '(what went to stdout stays sent)', 1, true), err)
    assert.are.equal(50, h.ffprobe_frames(piped))
    assert.is_false(h.exists(wav))
    os.remove(piped)
    assert.are.same({}, h.temporaries(dir))
    -- without the fault the same render writes all three
    _, err, rc = h.vstudio('run ' .. h.q(script) .. ' -q -o ' .. h.q(mp4) .. ' -o ' .. h.q(wav) .. ' -o ' .. h.q(mkv))
    assert.are.equal(0, rc, err)
    assert.are.equal(50, h.ffprobe_frames(mp4))
    assert.are.equal(50, h.ffprobe_frames(mkv))
    assert.are.equal(96000, h.ffprobe_stream(wav, 'a:0').duration_ts)
  end)
end)
