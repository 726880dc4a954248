-- dataset_loop.lua: a training-style loop over vs.dataset in Lua. The frames
-- of many videos and frame folders come in batches from C worker threads;
-- the loop body reads pixels straight from the frames (a stand-in for a model:
-- the mean brightness of each batch). Run it with plain luajit from the tree:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' luajit examples/dataset_loop.lua a.mp4 shots/ ...
-- The batches are the same on every machine: `workers` sets the speed only.
local vs = require 'vstudio'

if #arg == 0 then
  io.stderr:write('usage: luajit examples/dataset_loop.lua VIDEO|FOLDER...\n')
  os.exit(2)
end

local ds = vs.dataset{ paths = arg, batch = 8, size = { 64, 64 }, every = 2 }
print(('%d frames from %d sources'):format(ds:count(), #arg))

local batches, frames = 0, 0
for b in ds:batches() do
  local sum = 0
  for _, f in ipairs(b.frames) do -- valid until the next batch: f:copy() keeps one
    for y = 0, f.height - 1, 4 do
      local row = f:row(y) -- uint8_t* over RGBA: JIT-compiled loads, no copies
      for x = 0, f.width - 1, 4 do sum = sum + row[x * 4] + row[x * 4 + 1] + row[x * 4 + 2] end
    end
  end
  local mean = sum / (#b.frames * 16 * 16 * 3)
  batches, frames = batches + 1, frames + #b.frames
  print(('batch %d: %d frames, first %s:%d, mean brightness %.1f'):format(batches, #b.frames, b.paths[1],
                                                                          b.indices[1], mean))
end
print(('%d batches, %d frames'):format(batches, frames))
