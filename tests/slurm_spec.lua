-- slurm_spec.lua: the Slurm recipe (examples/slurm-render.sh) on a real
-- single-node Slurm cluster that the spec starts and stops itself
-- (tests/slurm-cluster.sh: munged, slurmctld, slurmd on loopback ports):
-- the array renders the segments, the dependent job joins them, and the
-- result decodes to exactly the frames of one `vstudio run` (ffmpeg's
-- framemd5 as the oracle); a dataset shard array covers every frame once;
-- a failing task stops the join and a rerun finishes the render.
local helper = require 'helper'
local q = helper.q

local repo, bin = helper.repo, helper.abs_bin

local FRAMES = 30
local N = 3

-- Every frame its own colour and a bar as long as its number; frame 15
-- (segment 2 of 3) fails while the file FAIL_FLAG names exists.
local SCRIPT = [[
local vs = require 'vstudio'
local flag = FAIL_FLAG and io.open(FAIL_FLAG)
if flag then flag:close() end
return vs.clip{size = {96, 64}, fps = 30, duration = 1, draw = function(frame, t)
  local k = math.floor(t * 30 + 0.5)
  if flag and k == 15 then error('frame ' .. k .. ' fails on purpose') end
  frame:fill((k * 37) % 256, (k * 59) % 256, (k * 83) % 256, 255)
  for x = 0, k * 3 do frame:set(x % 96, 32 + math.floor(x / 96) * 8, 255, 255, 255, 255) end
end}
]]

local framemd5 = helper.framemd5

local function nproc()
  return tonumber((helper.sh('nproc'):match('%d+')))
end

-- Why the cluster cannot run here, or nil.
local function unavailable()
  local _, err, rc = helper.sh('sh tests/slurm-cluster.sh check')
  if rc ~= 0 then return (err:gsub('%s+$', '')) end
  return nil
end

describe('examples/slurm-render.sh on a one-node Slurm cluster', function()
  local dir, cluster, env, skip

  -- A shell command in the work folder with the test cluster's SLURM_CONF
  -- (never the machine's own Slurm, never a DNS lookup for one).
  local function sh(cmd)
    return helper.sh(env .. 'cd ' .. q(dir) .. ' && ' .. cmd)
  end

  local function recipe(args)
    return sh('sh ' .. q(repo .. '/examples/slurm-render.sh') .. ' ' .. args)
  end

  -- {task id or 'job' = state} of a job (array tasks by their index).
  local function states(job)
    local out = sh('scontrol -o show job ' .. job)
    local t = {}
    for line in out:gmatch('[^\n]+') do
      local state = line:match('JobState=(%u+)')
      local task = line:match('ArrayTaskId=(%d+)')
      if state then t[task and tonumber(task) or 'job'] = state end
    end
    return t
  end

  -- Waits (bounded) until no job of ours is pending or running.
  local function wait_idle(seconds)
    for _ = 1, seconds * 2 do
      local out = sh('squeue -h -t PENDING,RUNNING,CONFIGURING,COMPLETING -o "%i %r"')
      -- a job pending on a dependency that can never be satisfied is cancelled
      if out:match('^%s*$') then return end
      sh('sleep 0.5')
    end
    error('jobs still queued after ' .. seconds .. ' s:\n' .. sh('squeue'))
  end

  local function submitted(out)
    local array = out:match('render array (%d+)')
    local join = out:match('join (%d+)')
    return array, join
  end

  setup(function()
    skip = unavailable()
    if skip then return end
    dir = helper.tmpdir()
    cluster = dir .. '/cluster'
    local out, err, rc = helper.sh('sh tests/slurm-cluster.sh start ' .. q(cluster))
    if rc ~= 0 then
      helper.sh('sh tests/slurm-cluster.sh stop ' .. q(cluster))
      error('the test cluster did not start: ' .. err)
    end
    env = out:match('(SLURM_CONF=%S+)') .. ' VSTUDIO=' .. q(bin) .. ' '
    env = 'export ' .. env .. '; '
    helper.write_file(dir .. '/frames.lua', SCRIPT)
  end)

  teardown(function()
    if cluster then helper.sh('sh tests/slurm-cluster.sh stop ' .. q(cluster)) end
    helper.cleanup()
  end)

  local function single(script, name)
    local out = dir .. '/' .. name
    local _, err, rc = helper.vstudio(('run %s --crf 0 -o %s'):format(q(script), q(out)))
    assert(rc == 0, err)
    return framemd5(out)
  end

  it('renders the array, joins after it and matches the single render frame for frame', function()
    if skip then return pending(skip) end
    local whole = single(dir .. '/frames.lua', 'whole.mp4')
    assert.equal(FRAMES, #whole)
    local out, err, rc = recipe(('frames.lua out.mp4 %d --crf 0'):format(N))
    assert.equal(0, rc, err)
    local array, join = submitted(out)
    assert.truthy(array and join, out)
    wait_idle(180)
    assert.same({'COMPLETED', 'COMPLETED', 'COMPLETED'}, states(array))
    assert.equal('COMPLETED', states(join).job)
    assert.same(whole, framemd5(dir .. '/out.mp4'))
    assert.is_false(helper.exists(dir .. '/out.mp4.parts/part-1.mp4'), 'the join removes the parts')
    -- the tasks' logs are where the header says
    assert.is_true(helper.exists(('%s/slurm-render-%s_2.log'):format(dir, array)))
    local log = helper.read_file(('%s/slurm-join-%s.log'):format(dir, join))
    assert.truthy(log:find(('vstudio: concat: %s/out.mp4: %d parts, %d frames'):format(dir, N, FRAMES), 1, true), log)
  end)

  it('renders a clip with a vs.video source; N defaults to the CPUs of the partition', function()
    if skip then return pending(skip) end
    local src = dir .. '/src.mkv'
    local _, err, rc = helper.sh('ffmpeg -v error -f lavfi -i testsrc2=size=80x48:rate=25 -frames:v 40 ' ..
      '-c:v ffv1 ' .. q(src))
    assert.equal(0, rc, err)
    local script = dir .. '/video.lua'
    helper.write_file(script, ("local vs = require 'vstudio'\nreturn vs.video(%q)\n"):format(src))
    local whole = single(script, 'video-whole.mp4')
    assert.equal(40, #whole)
    local out
    out, err, rc = recipe('video.lua video.mp4 --crf 0')
    assert.equal(0, rc, err)
    local cpus = nproc()
    local list = {}
    for k = 1, cpus do list[k] = tostring(k) end
    assert.truthy(out:find(('segments %s of %d'):format(table.concat(list, ','), cpus), 1, true), out)
    wait_idle(180)
    assert.same(whole, framemd5(dir .. '/video.mp4'))
  end)

  it('fails fast, submitting nothing, when a task asks for more CPUs than the node has', function()
    if skip then return pending(skip) end
    local too_many = nproc() + 1
    local t0 = os.time()
    local _, err, rc = recipe(('--cpus-per-task=%d frames.lua big.mp4 2'):format(too_many))
    assert.equal(1, rc, err)
    assert.truthy(err:find(('slurm-render.sh: the cluster cannot run a task with these options ' ..
      "('--cpus-per-task=%d'): "):format(too_many), 1, true), err)
    assert.truthy(err:find('Requested node configuration is not available', 1, true), err)
    assert.is_true(os.time() - t0 < 30)
    assert.equal('', (sh('squeue -h -o %i')))
    -- a value given apart would make it the script
    _, err, rc = recipe(('--cpus-per-task %d frames.lua big.mp4 2'):format(too_many))
    assert.equal(2, rc, err)
    assert.truthy(err:find('slurm-render.sh: --cpus-per-task: attach its value', 1, true), err)
    -- the same with what the node has is accepted and renders
    local out
    out, err, rc = recipe(('--cpus-per-task=%d frames.lua fits.mp4 2 --crf 0'):format(too_many - 1))
    assert.equal(0, rc, err)
    wait_idle(180)
    assert.same(single(dir .. '/frames.lua', 'whole2.mp4'), framemd5(dir .. '/fits.mp4'), out)
  end)

  it("cancels at once, with Slurm's reason, an array that a partition limit keeps pending forever", function()
    if skip then return pending(skip) end
    -- accepted by sbatch and --test-only, but over the partition's MaxTime of 5 minutes
    local t0 = os.time()
    local _, err, rc = recipe('--partition=short --time=10 frames.lua long.mp4 2')
    assert.equal(1, rc, err)
    assert.truthy(err:find("slurm-render.sh: the cluster will not run the render array: Partition", 1, true), err)
    assert.truthy(err:find("exceeds a limit of short; cancelled jobs", 1, true), err)
    assert.is_true(os.time() - t0 < 30)
    wait_idle(30)
    assert.is_false(helper.exists(dir .. '/long.mp4'))
    -- over its MaxCPUsPerNode: refused before anything is submitted
    _, err, rc = recipe('--partition=short --cpus-per-task=2 frames.lua wide.mp4 2')
    assert.equal(1, rc, err)
    assert.truthy(err:find("cannot run a task with these options ('--partition=short' '--cpus-per-task=2')", 1, true), err)
    assert.equal('', (sh('squeue -h -o %i')))
  end)

  it('does not join when segment 2 fails, names the task and frame, and a rerun completes the render', function()
    if skip then return pending(skip) end
    local flag = dir .. '/fail-now'
    helper.write_file(flag, '')
    helper.write_file(dir .. '/flaky.lua', ('FAIL_FLAG = %q\n'):format(flag) .. SCRIPT)
    local out, err, rc = recipe(('flaky.lua flaky.mp4 %d --crf 0'):format(N))
    assert.equal(0, rc, err)
    local array, join = submitted(out)
    wait_idle(180)
    local st = states(array)
    assert.same({'COMPLETED', 'FAILED', 'COMPLETED'}, {st[1], st[2], st[3]})
    -- afterok: the join never ran (Slurm cancels it: its dependency cannot be met)
    assert.equal('CANCELLED', states(join).job)
    assert.is_false(helper.exists(dir .. ('/slurm-join-%s.log'):format(join)))
    assert.is_false(helper.exists(dir .. '/flaky.mp4'))
    local log = helper.read_file(('%s/slurm-render-%s_2.log'):format(dir, array))
    assert.truthy(log:find('frame 15', 1, true), log)
    assert.truthy(log:find(('task %s_2 (segment 2/%d of %s/flaky.lua) failed'):format(array, N, dir), 1, true), log)
    -- the parts of a 3-segment render are not joined into another plan
    _, err, rc = recipe('flaky.lua flaky.mp4 4 --crf 0')
    assert.equal(1, rc, err)
    assert.truthy(err:find('flaky.mp4.parts/ holds the parts of another render (3 segments of ', 1, true), err)
    -- the cause fixed, the same command again: only segment 2 is rendered, then the join
    os.remove(flag)
    out, err, rc = recipe(('flaky.lua flaky.mp4 %d --crf 0'):format(N))
    assert.equal(0, rc, err)
    assert.truthy(out:find(('(segments 2 of %d)'):format(N), 1, true), out)
    local again = submitted(out)
    wait_idle(180)
    assert.same({[2] = 'COMPLETED'}, states(again))
    assert.same(single(dir .. '/frames.lua', 'whole3.mp4'), framemd5(dir .. '/flaky.mp4'))
  end)

  it('runs a dataset shard array whose tasks together see every frame exactly once', function()
    if skip then return pending(skip) end
    local clips = {}
    for i, frames in ipairs({17, 9, 23}) do
      clips[i] = ('%s/clip%d.mkv'):format(dir, i)
      local _, err, rc = helper.sh(('ffmpeg -v error -f lavfi -i testsrc2=size=32x24:rate=10 -frames:v %d -c:v ffv1 %s')
        :format(frames, q(clips[i])))
      assert.equal(0, rc, err)
    end
    local quoted = {}
    for i, c in ipairs(clips) do quoted[i] = ('%q'):format(c) end
    helper.write_file(dir .. '/shard.lua', ([[
local vs = require 'vstudio'
local k = tonumber(os.getenv('SLURM_ARRAY_TASK_ID'))
local n = tonumber(os.getenv('SHARDS'))
local ds = vs.dataset{paths = {%s}, batch = 4, workers = 1, shard = {k, n}}
local f = assert(io.open(('seen-%%d.txt'):format(k), 'w'))
for b in ds:batches() do
  for i = 1, #b.paths do f:write(b.paths[i], ' ', b.indices[i], '\n') end
end
f:close()
]]):format(table.concat(quoted, ', ')))
    local shards = 4
    local lua_env = ('SHARDS=%d LUA_PATH=%s VSTUDIO_LIB=%s VSTUDIO_LUA_DIR=%s'):format(shards,
      q(repo .. '/lua/?.lua;' .. repo .. '/lua/?/init.lua;;'),
      q(os.getenv('VSTUDIO_LIB') or repo .. '/build/libvstudio.so'),
      q(os.getenv('VSTUDIO_LUA_DIR') or repo .. '/lua'))
    -- under make check, luajit needs the sanitizer runtime first (helper.sh
    -- keeps it from sbatch itself)
    local preload = os.getenv('LD_PRELOAD') or ''
    local out, err, rc = sh(('export %s; sbatch --parsable --array=1-%d --output=shard-%%a.log --wrap=%s')
      :format(lua_env, shards, q('LD_PRELOAD=' .. q(preload) .. ' luajit shard.lua')))
    assert.equal(0, rc, err)
    local job = out:match('%d+')
    wait_idle(180)
    local st = states(job)
    local seen, total = {}, 0
    for k = 1, shards do
      assert.equal('COMPLETED', st[k], helper.exists(dir .. '/shard-' .. k .. '.log')
        and helper.read_file(dir .. '/shard-' .. k .. '.log') or '')
      for line in helper.read_file(('%s/seen-%d.txt'):format(dir, k)):gmatch('[^\n]+') do
        assert.is_nil(seen[line], line .. ' seen twice')
        seen[line] = k
        total = total + 1
      end
    end
    assert.equal(17 + 9 + 23, total)
    for i, frames in ipairs({17, 9, 23}) do
      for index = 0, frames - 1 do
        assert.truthy(seen[clips[i] .. ' ' .. index], clips[i] .. ' frame ' .. index .. ' not seen')
      end
    end
  end)
end)
