-- k8s_spec.lua: examples/k8s-render-job.yaml, filled in by envsubst, is two
-- well-formed batch/v1 Jobs whose fields carry the parameters (python3-yaml
-- parses it), and the pods' own commands, run here with the volume's mount
-- point moved to a temporary folder, render the segments, wait for them and
-- join them into exactly the frames of one `vstudio run` (ffmpeg's framemd5).
-- Not checked, for want of a Kubernetes API server: the manifest against
-- the API's schema (kubectl --dry-run needs a server for discovery), the
-- scheduling, the volume, the retries.
local helper = require 'helper'
local q = helper.q

local repo, bin = helper.repo, helper.abs_bin
local VARS = '$SEGMENTS $PARALLELISM $CPU $MEMORY $IMAGE $SCRIPT $OUT $RUN_OPTS'

-- Flattens the manifest's documents to "path=value" lines (doc.1.spec.completions=3)
-- and writes each container's shell script (its args) to DIR/<name>.sh.
local FLATTEN = [[
import sys, yaml
out = sys.argv[1]
def walk(path, v):
    if isinstance(v, dict):
        for k, x in v.items(): walk(path + '.' + str(k), x)
    elif isinstance(v, list):
        for i, x in enumerate(v): walk(path + '.' + str(i + 1), x)
    elif isinstance(v, str) and '\n' in v:
        print(path + '=<script>')
    else:
        print(path + '=' + str(v))
for n, doc in enumerate(yaml.safe_load_all(sys.stdin)):
    walk('doc.' + str(n + 1), doc)
    pod = doc['spec']['template']['spec']
    for c in pod.get('initContainers', []) + pod['containers']:
        open(out + '/' + c['name'] + '.sh', 'w').write(c['args'][0])
]]

describe('examples/k8s-render-job.yaml', function()
  local dir, skip, fields, params

  local function has(cmd) return select(3, helper.sh('command -v ' .. cmd)) == 0 end

  setup(function()
    if not has('envsubst') then skip = 'envsubst is not installed (Debian: gettext-base)' return end
    if select(3, helper.sh('python3 -c "import yaml"')) ~= 0 then
      skip = 'python3-yaml is not installed' return
    end
    dir = helper.tmpdir()
    params = {SEGMENTS = 3, PARALLELISM = 2, CPU = 2, MEMORY = '1Gi', IMAGE = 'example.org/vstudio:test',
      SCRIPT = 'anim.lua', OUT = 'renders/anim.mp4', RUN_OPTS = '--crf 0 --preset ultrafast'}
    local exports = {}
    for k, v in pairs(params) do exports[#exports + 1] = k .. '=' .. q(v) end
    helper.write_file(dir .. '/flatten.py', FLATTEN)
    local out, err, rc = helper.sh(('export %s; envsubst %s < examples/k8s-render-job.yaml | tee %s | python3 %s %s')
      :format(table.concat(exports, ' '), q(VARS), q(dir .. '/job.yaml'), q(dir .. '/flatten.py'), q(dir)))
    assert(rc == 0, err)
    fields = {}
    for k, v in out:gmatch('([^\n=]+)=([^\n]*)') do fields[k] = v end
  end)

  teardown(helper.cleanup)

  it('fills every parameter in and nothing else', function()
    if skip then return pending(skip) end
    local text = helper.read_file(dir .. '/job.yaml')
    assert.falsy(text:find('${', 1, true), 'a parameter is left over')
    -- the pods' own shell variables are kept
    assert.truthy(text:find('$((JOB_COMPLETION_INDEX + 1))', 1, true))
    assert.truthy(text:find('"$WORK/renders/anim.mp4.parts/part-$k.mp4"', 1, true))
  end)

  it('is an Indexed render Job and a join Job carrying the parameters', function()
    if skip then return pending(skip) end
    local want = {
      ['doc.1.apiVersion'] = 'batch/v1', ['doc.1.kind'] = 'Job', ['doc.1.metadata.name'] = 'vstudio-render',
      ['doc.1.spec.completionMode'] = 'Indexed', ['doc.1.spec.completions'] = '3', ['doc.1.spec.parallelism'] = '2',
      ['doc.1.spec.template.spec.restartPolicy'] = 'Never',
      ['doc.1.spec.template.spec.containers.1.image'] = params.IMAGE,
      ['doc.1.spec.template.spec.containers.1.resources.requests.cpu'] = '2',
      ['doc.1.spec.template.spec.containers.1.resources.requests.memory'] = '1Gi',
      ['doc.1.spec.template.spec.containers.1.resources.limits.memory'] = '1Gi',
      ['doc.1.spec.template.spec.containers.1.volumeMounts.1.mountPath'] = '/work',
      ['doc.1.spec.template.spec.containers.1.env.1.name'] = 'WORK',
      ['doc.1.spec.template.spec.containers.1.env.1.value'] = '/work',
      ['doc.1.spec.template.spec.volumes.1.persistentVolumeClaim.claimName'] = 'vstudio-work',
      ['doc.2.apiVersion'] = 'batch/v1', ['doc.2.kind'] = 'Job', ['doc.2.metadata.name'] = 'vstudio-join',
      ['doc.2.spec.template.spec.restartPolicy'] = 'Never',
      ['doc.2.spec.template.spec.initContainers.1.image'] = params.IMAGE,
      ['doc.2.spec.template.spec.containers.1.image'] = params.IMAGE,
      ['doc.2.spec.template.spec.containers.1.volumeMounts.1.mountPath'] = '/work',
    }
    for k, v in pairs(want) do assert.equal(v, fields[k], k) end
    assert.is_nil(fields['doc.3.kind'], 'two documents')
  end)

  it("runs the pods' commands: the segments, the wait for all parts, the join", function()
    if skip then return pending(skip) end
    local work = dir .. '/work'
    helper.sh('mkdir -p ' .. q(work .. '/renders'))
    helper.write_file(work .. '/anim.lua', [[
local vs = require 'vstudio'
return vs.clip{size = {64, 48}, fps = 25, duration = 1, draw = function(frame, t)
  local k = math.floor(t * 25 + 0.5)
  frame:fill((k * 37) % 256, (k * 59) % 256, (k * 83) % 256, 255)
end}
]])
    local ref = dir .. '/whole.mp4'
    local _, err, rc = helper.vstudio(('run %s --crf 0 --preset ultrafast -q -o %s'):format(q(work .. '/anim.lua'), q(ref)))
    assert(rc == 0, err)
    -- the pods' environment: vstudio on PATH, the volume at WORK
    local pod = ('export PATH=%s:"$PATH" WORK=%s; '):format(q(bin:match('^(.*)/')), q(work))
    local parts = work .. '/renders/anim.mp4.parts'
    for index = 0, params.SEGMENTS - 1 do
      _, err, rc = helper.sh(pod .. ('JOB_COMPLETION_INDEX=%d sh -c "$(cat %s)"'):format(index, q(dir .. '/render.sh')))
      assert.equal(0, rc, err)
      -- the join waits while a part is missing
      if index < params.SEGMENTS - 1 then
        _, _, rc = helper.sh(pod .. ('timeout 2 sh -c "$(cat %s)"'):format(q(dir .. '/wait-for-parts.sh')))
        assert.equal(124, rc, 'the join started before part ' .. params.SEGMENTS .. ' was written')
      end
    end
    _, err, rc = helper.sh(pod .. ('timeout 20 sh -c "$(cat %s)"'):format(q(dir .. '/wait-for-parts.sh')))
    assert.equal(0, rc, err)
    _, err, rc = helper.sh(pod .. ('sh -c "$(cat %s)"'):format(q(dir .. '/join.sh')))
    assert.equal(0, rc, err)
    assert.same(helper.framemd5(ref), helper.framemd5(work .. '/renders/anim.mp4'))
    assert.is_false(helper.exists(parts .. '/part-1.mp4'), 'the join removes the parts')
  end)
end)
