-- vstudio: the Lua face of the video studio. `local vs = require 'vstudio'`.
-- Each concept lives in its own module (lua/vstudio/<concept>.lua) whose
-- install(vs) adds its public names to `vs`; this file gathers them. The
-- modules require each other for what they share (vstudio.check raises
-- argument errors, vstudio.session holds what a run shares), never through
-- `vs`. The names are the stable contract, documented under LUA API in
-- man/vstudio.1.
local core = require 'vstudio.core'
local ffi = require 'ffi'

local vs = {}

vs.version = ffi.string(core.C.vs_version())
-- true inside a render worker's Lua state: top-level code runs once per
-- worker, so guard one-time side effects with `if not vs.worker then`.
vs.worker = false

vs.frame = core.frame
vs.load = core.load

for _, concept in ipairs { 'clip', 'audio', 'ease', 'draw', 'act', 'video', 'write', 'render', 'dataset', 'captions' } do
  require('vstudio.' .. concept).install(vs)
end

return vs
