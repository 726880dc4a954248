-- examples/sequence.lua: crossfades between a generated clip, a video file
-- and a folder of images.
--   vstudio run examples/sequence.lua -o seq.mp4 [-- VIDEO IMAGE_DIR]
-- Without arguments it makes its inputs once (a small video with vs.write,
-- PNG frames with frame:save) in $TMPDIR/vstudio-example-sequence/; when
-- vs.video or vs.write are not available, generated clips stand in.
local vs = require 'vstudio'

local W, H, FPS = 320, 180, 30

local function exists(path)
  local f = io.open(path, 'rb')
  if f then f:close() end
  return f ~= nil
end

local function stripes(frame, t, colour)
  frame:fill(colour[1], colour[2], colour[3])
  for i = 0, 7 do
    local x = (i * 48 + t * 120) % (W + 48) - 48
    frame:rect{ x, 0, 20, H, { 255, 255, 255, 70 } }
  end
end

local dir = (os.getenv('TMPDIR') or '/tmp') .. '/vstudio-example-sequence'
local video_path, image_dir = arg and arg[1], arg and arg[2]

-- Inputs are made by the main script run only (workers find them on disk),
-- in a private folder renamed into place when complete, so runs at the same
-- time never read half-written files.
if not vs.worker and not exists(dir .. '/done') then
  local tmp = os.tmpname()
  os.remove(tmp)
  os.execute("mkdir -p '" .. tmp .. "/frames'")
  for k = 1, 30 do
    local f = vs.frame(W, H)
    f:gradient{ { 10, 60, 30 }, { 200, 230, 120 }, direction = k * 6 }
    f:circle{ x = W / 2, y = H / 2, r = 10 + k * 2, color = { 255, 255, 255, 180 } }
    f:save(tmp .. '/frames/f' .. k .. '.png')
  end
  if vs.write then
    local w = vs.write(tmp .. '/clip.mp4', { fps = FPS })
    local f = vs.frame(W, H)
    for k = 0, 44 do
      stripes(f, k / FPS, { 40, 40, 160 })
      w:push(f)
    end
    w:close()
  end
  io.open(tmp .. '/done', 'w'):close()
  if not os.rename(tmp, dir) then
    if not exists(dir .. '/done') then  -- a stale, unfinished folder: replace it
      os.execute("rm -rf '" .. dir .. "'")
      if os.rename(tmp, dir) then tmp = nil end
    end
    if tmp then os.execute("rm -rf '" .. tmp .. "'") end  -- another run was first
  end
end
video_path = video_path or dir .. '/clip.mp4'
image_dir = image_dir or dir .. '/frames'

local generated = vs.clip{ size = { W, H }, fps = FPS, duration = 1.5,
  draw = function(frame, t) stripes(frame, t, { 150, 40, 40 }) end }

local video
if vs.video and exists(video_path) then
  video = vs.video(video_path):with_fps(FPS):resize{ W, H }
else
  video = vs.clip{ size = { W, H }, fps = FPS, duration = 1.5,
    draw = function(frame, t) stripes(frame, t, { 40, 40, 160 }) end }
end

local images = vs.images(image_dir, { fps = FPS }):resize{ W, H }

return vs.sequence{ generated, video, images:loop(2), crossfade = 0.5 }
