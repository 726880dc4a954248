-- The render engine's sound thread: the sound is pulled, mixed and encoded in a thread of its
-- own, ahead of the pictures but never more than a second, muxed by the encoding thread with
-- the same packets a sound file gets; its errors fail the render at their frame (an earlier
-- picture's error still wins), and a signal stops it even in a fill that never returns.
local h = require 'helper'

describe('run: the sound thread', function()
  local dir
  setup(function() dir = h.tmpdir() end)
  -- 2 s of a tone beside blank pictures: a stereo .wav of it is 384078 bytes
  local tone_script = [[
local vs = require 'vstudio'
return vs.clip{ size = {32, 24}, fps = 25, duration = 2, draw = function() end }
  :with_audio(vs.tone{ freq = 220, duration = 2, volume = 0.2 })
]]
  teardown(h.cleanup)

  it('pulls the sound up to a second ahead of the pictures, and no further', function()
    local s = dir .. '/ahead.lua'
    h.write_file(s, [[
local vs = require 'vstudio'
local ffi = require 'ffi'
pcall(ffi.cdef, 'int usleep(unsigned);')
local a = vs.audio{ duration = 3, fill = function(buf, n, t0, first)
  io.stderr:write('fill ', first, '\n')
end }
return vs.clip{ size = {32, 24}, fps = 25, duration = 3, draw = function(frame, t)
  if t == 0 then ffi.C.usleep(2000000) io.stderr:write('drew 0\n') end
end }:with_audio(a)
]])
    local _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q -o ' .. h.q(dir .. '/ahead.mp4'))
    assert.are.equal(0, rc, err)
    local before = err:match('^(.-)drew 0\n')
    assert.truthy(before, err)
    local last = -1
    for first in before:gmatch('fill (%d+)') do last = math.max(last, tonumber(first)) end
    -- fill reads aligned blocks of 4096 samples; a second is 48000, in the block at 45056
    assert.is_true(last >= 40960, 'the sound did not run ahead of the first picture: ' .. before)
    assert.is_true(last <= 45056, 'the sound ran more than a second ahead: ' .. before)
    assert.truthy(err:find('fill 143360', 1, true), err) -- and the rest came after
  end)

  it('muxes the same sound packets a sound file of the render gets, and the same pictures as without sound',
     function()
    local s = dir .. '/same.lua'
    h.write_file(s, [[
local vs = require 'vstudio'
local tune = vs.audio{ duration = 2, channels = 1, fill = function(buf, n, _, first)
  for i = 0, n - 1 do
    local u = ((first + i) / 48000) % 0.25
    buf[i] = 0.2 * math.exp(-7 * u) * math.sin(2 * math.pi * 330 * u)
  end
end }
return vs.clip{ size = {64, 48}, fps = 30, duration = 2, draw = function(frame, t)
  frame:fill(math.floor(t * 100) % 256, 40, 90)
end }:with_audio(vs.mix{ tune, vs.tone{ freq = 110, duration = 2, volume = 0.1 } })
]])
    local mp4, m4a, mute = dir .. '/same.mp4', dir .. '/same.m4a', dir .. '/mute.mp4'
    local _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q -o ' .. h.q(mp4) .. ' -o ' .. h.q(m4a))
    assert.are.equal(0, rc, err)
    _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q --no-audio -o ' .. h.q(mute))
    assert.are.equal(0, rc, err)
    local function packets(path, stream)
      local out, e, code = h.sh('ffmpeg -v error -i ' .. h.q(path) .. ' -map 0:' .. stream ..
                                ' -c copy -f framemd5 - | grep -v "^#"')
      assert.are.equal(0, code, e)
      return out
    end
    local sound = packets(mp4, 'a')
    local _, lines = sound:gsub('\n', '')
    assert.is_true(lines >= 90, sound) -- 2 s of 1024-sample AAC frames, and the priming
    assert.are.equal(packets(m4a, 'a'), sound)
    assert.are.equal(packets(mute, 'v'), packets(mp4, 'v'))
  end)

  it("fails at the sound's frame, but an earlier picture's error wins whatever the sound's lead", function()
    local s = dir .. '/errors.lua'
    h.write_file(s, [[
local vs = require 'vstudio'
local ffi = require 'ffi'
pcall(ffi.cdef, 'int usleep(unsigned);')
local bad_frame = tonumber(arg[1])
local a = vs.audio{ duration = 2, fill = function(buf, n, t0, first)
  if first >= 8192 then error('out of notes') end
end }
return vs.clip{ size = {32, 24}, fps = 25, duration = 2, draw = function(frame, t)
  local k = math.floor(t * 25 + 0.5)
  if k == bad_frame then ffi.C.usleep(300000) error('picture ' .. k .. ' is broken') end
end }:with_audio(a)
]])
    -- the sample at 8192 is in frame 4 (samples 7680..9599)
    local _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q -o ' .. h.q(dir .. '/e.mp4') .. ' -- 20')
    assert.are.equal(1, rc, err)
    -- as a draw's error reads: the frame, then why (which names the script's line)
    assert.truthy(err:find('vstudio: run: frame 4: sound at 0.160 s: ' .. s .. ':6: out of notes', 1, true), err)
    assert.falsy(err:find('picture 20', 1, true), err)
    _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -q -o ' .. h.q(dir .. '/e.mp4') .. ' -- 2')
    assert.are.equal(1, rc, err)
    assert.truthy(err:find('frame 2: ', 1, true) and err:find('picture 2 is broken', 1, true), err)
    assert.falsy(err:find('out of notes', 1, true), err)
    assert.is_false(h.exists(dir .. '/e.mp4'))
    assert.are.same({}, h.temporaries(dir))
  end)

  it('stops with 130 on SIGINT while the fill loops, interpreted or compiled, and writes nothing', function()
    for _, how in ipairs { 'interpreted', 'compiled' } do
      local s = dir .. '/loop.lua'
      h.write_file(s, [[
local vs = require 'vstudio'
local ffi = require 'ffi'
pcall(ffi.cdef, 'int usleep(unsigned);')
local a = vs.audio{ duration = 2, fill = function(buf, n, t0, first)
  if first < 4096 then return end
  io.stderr:write('looping\n')
  if arg[1] == 'interpreted' then
    jit.off(true, true)
    local x = 0
    while true do x = x + 1 end
  end
  -- compiled, so no hook can stop it; a libc call lets ThreadSanitizer deliver the signal
  while true do ffi.C.usleep(1000) end
end }
return vs.clip{ size = {32, 24}, fps = 25, duration = 2, draw = function() end }:with_audio(a)
]])
      local out = dir .. '/loop.mp4'
      local t0 = os.time()
      local _, err, rc = h.sh('timeout -k 5 30 ' .. h.q(h.bin) .. ' run ' .. h.q(s) .. ' -q -o ' .. h.q(out) .. ' -- ' ..
        how .. ' 2> ' .. h.q(dir .. '/err') .. ' & pid=$!; for i in $(seq 300); do ' ..
        'grep -q looping ' .. h.q(dir .. '/err') .. ' && break; sleep 0.02; done; sleep 0.2; kill -INT $pid; ' ..
        'wait $pid')
      assert.are.equal(130, rc, how .. ': ' .. err .. h.read_file(dir .. '/err'))
      assert.truthy(os.time() - t0 < 15, how .. ': the command was not stopped')
      assert.is_false(h.exists(out), how)
      assert.are.same({}, h.temporaries(dir), how)
    end
  end)

  it("fails naming the file when muxing the sound cannot write, and neither hangs nor leaves a file", function()
    local s = dir .. '/full.lua'
    h.write_file(s, [[
local vs = require 'vstudio'
local a = vs.audio{ duration = 8, channels = 1, fill = function(buf, n, t0, first)
  for i = 0, n - 1 do
    local x = 0
    for j = 1, 100 do x = x + math.sin((first + i) * 0.001 * j) / j end
    buf[i] = 0.3 * x
  end
end }
return vs.clip{ size = {64, 48}, fps = 25, duration = 8, draw = function(frame, t)
  frame:fill(math.floor(t * 50) % 256, 40, 90)
end }:with_audio(a)
]])
    -- mpeg4 has no encoder delay and the fill is slower than the pictures, so the sound's
    -- packets (muxed by the encoding thread) are nearly always what crosses the file size limit
    -- (once in ten, with the sound ahead, a picture's); SIGXFSZ ignored, the write fails with EFBIG
    local out = dir .. '/full.mov'
    local _, err, rc = h.sh("trap '' XFSZ; ulimit -f 100; timeout -k 5 30 " .. h.q(h.bin) .. ' run ' .. h.q(s) ..
                            ' -q --codec mpeg4 -o ' .. h.q(out))
    assert.are.equal(1, rc, err)
    assert.truthy(err:find(out .. ': ', 1, true), err)
    assert.truthy(err:find('write failed: File too large', 1, true), err)
    assert.is_false(h.exists(out))
    assert.are.same({}, h.temporaries(dir))
  end)

  it("fails when the sound's thread cannot write the last frame's sound, and commits nothing", function()
    local s = dir .. '/last.lua'
    h.write_file(s, tone_script)
    -- the wav (384078 bytes in stereo) is written by the sound's thread; 740 blocks of 512 bytes
    -- end it in frame 49, the last, whose failure the encoding thread must see before the outputs commit
    local mov, wav = dir .. '/last.mov', dir .. '/last.wav'
    local _, err, rc = h.sh("trap '' XFSZ; ulimit -f 740; timeout -k 5 30 " .. h.q(h.bin) .. ' run ' .. h.q(s) ..
                            ' -q --audio-channels 2 -o ' .. h.q(mov) .. ' -o ' .. h.q(wav))
    assert.are.equal(1, rc, err)
    assert.truthy(err:find('vstudio: run: ' .. wav .. ': frame 49: sound at ', 1, true), err)
    assert.is_false(h.exists(mov))
    assert.is_false(h.exists(wav))
    assert.are.same({}, h.temporaries(dir))
  end)

  it("stops with 130 on SIGINT while the sound's thread is stuck writing a sound file, and writes nothing",
     function()
    -- a disk that never finishes: write() to the .wav's temporary blocks off the main thread
    local preload = h.preload_shim(dir, 'stuck_write', [[
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
ssize_t write(int fd, const void *buf, size_t n)
{
    ssize_t (*real)(int, const void *, size_t) = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t len = gettid() != getpid() ? readlink(link, path, sizeof path - 1) : -1;
    if (len > 0) {
        path[len] = 0;
        if (strstr(path, ".wav.") && strstr(path, ".part"))
            for (;;)
                pause();
    }
    return real(fd, buf, n);
}
]])
    local _, err, rc
    local s = dir .. '/stuck.lua'
    h.write_file(s, tone_script)
    local mov, wav = dir .. '/stuck.mov', dir .. '/stuck.wav'
    local t0 = os.time()
    _, err, rc = h.sh(preload .. h.q(h.bin) .. ' run ' .. h.q(s) .. ' -q -o ' .. h.q(mov) .. ' -o ' .. h.q(wav) ..
                      ' & pid=$!; sleep 1; kill -INT $pid; ' ..
                      '(sleep 15; kill -KILL $pid) >/dev/null 2>&1 & guard=$!; wait $pid; rc=$?; kill $guard; exit $rc')
    assert.are.equal(130, rc, err)
    assert.truthy(os.time() - t0 < 12, 'the command was not stopped')
    assert.truthy(err:find('interrupted by SIGINT', 1, true), err)
    assert.is_false(h.exists(mov))
    assert.is_false(h.exists(wav))
    assert.are.same({}, h.temporaries(dir))
  end)

  it('names the file first, then the frame, then why, when the sound cannot be encoded or written', function()
    -- a codec that refuses the sound from 1 s on (encode), or a muxer that cannot write it (write)
    local preload = h.preload_shim(dir, 'bad_sound', [[
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
static int failing(const char *mode) { return getenv("FAIL_SOUND") && strcmp(getenv("FAIL_SOUND"), mode) == 0; }
int avcodec_send_frame(AVCodecContext *c, const AVFrame *f)
{
    int (*real)(AVCodecContext *, const AVFrame *) = (int (*)(AVCodecContext *, const AVFrame *))dlsym(RTLD_NEXT, "avcodec_send_frame");
    if (failing("encode") && f && c->codec_type == AVMEDIA_TYPE_AUDIO && f->pts >= c->sample_rate)
        return AVERROR(EIO);
    return real(c, f);
}
int av_interleaved_write_frame(AVFormatContext *s, AVPacket *p)
{
    int (*real)(AVFormatContext *, AVPacket *) = (int (*)(AVFormatContext *, AVPacket *))dlsym(RTLD_NEXT, "av_interleaved_write_frame");
    if (failing("write") && p) {
        AVStream *st = s->streams[p->stream_index];
        if (st->codecpar->codec_type == AVMEDIA_TYPE_AUDIO && p->pts * av_q2d(st->time_base) >= 1.0)
            return AVERROR(EIO);
    }
    return real(s, p);
}
]], 'libavcodec libavformat')
    local _, err, rc
    local s = dir .. '/named.lua'
    -- pictures slower than the sound, so its packets run ahead of the pictures muxed
    h.write_file(s, [[
local vs = require 'vstudio'
local ffi = require 'ffi'
pcall(ffi.cdef, 'int usleep(unsigned);')
return vs.clip{ size = {32, 24}, fps = 25, duration = 2, draw = function() ffi.C.usleep(20000) end }
  :with_audio(vs.tone{ freq = 220, duration = 2, volume = 0.2 })
]])
    local cases = {
      { 'encode', 'named.mp4', 'encoder: Input/output error' }, -- the video's stream, in the sound's thread
      { 'write', 'named.mp4', 'write failed: Input/output error' }, -- muxed by the encoding thread
      { 'encode', 'named.wav', 'encoder: Input/output error' }, -- a sound file, in the sound's thread
      { 'write', 'named.wav', 'write failed: Input/output error' },
    }
    for _, case in ipairs(cases) do
      local mode, out, why = case[1], dir .. '/' .. case[2], case[3]
      _, err, rc = h.sh('FAIL_SOUND=' .. mode .. ' ' .. preload .. h.q(h.bin) .. ' run ' .. h.q(s) .. ' -q -o ' ..
                        h.q(out))
      local what = mode .. ' ' .. case[2] .. ': ' .. err
      assert.are.equal(1, rc, what)
      local at = err:find('vstudio: run: ' .. out .. ': frame ', 1, true)
      assert.truthy(at, what)
      assert.truthy(err:find('^%d+: sound at [%d.]+ s: ' .. why, at + #('vstudio: run: ' .. out .. ': frame ')), what)
      -- the frame the failing sound's time falls in (25 fps), however far ahead the sound ran
      local frame, t = err:match(': frame (%d+): sound at ([%d.]+) s: ', at)
      assert.are.equal(math.floor(tonumber(t) * 25), tonumber(frame), what)
      assert.is_false(h.exists(out), what)
      assert.are.same({}, h.temporaries(dir), what)
    end
  end)

  it('names the sound as the bottleneck when the pictures wait for it', function()
    local s = dir .. '/slow.lua'
    h.write_file(s, [[
local vs = require 'vstudio'
local a = vs.audio{ duration = 2, fill = function(buf, n)
  local t = os.clock()
  while os.clock() - t < 0.05 do end
end }
return vs.clip{ size = {32, 24}, fps = 25, duration = 2, draw = function() end }:with_audio(a)
]])
    local _, err, rc = h.vstudio('run ' .. h.q(s) .. ' -o ' .. h.q(dir .. '/slow.mp4'))
    assert.are.equal(0, rc, err)
    assert.truthy(err:find('bottleneck: the sound (the encoder waited', 1, true), err)
  end)
end)
