-- session.lua: what one Lua state's run shares between vs.render
-- (render.lua), vs.video (video.lua), the REPL and preview (repl.lua) and
-- the engine's glue (src/render.c, which sets these fields by name). Each
-- Lua state has its own: a render worker's state is a session of its own.
return {
  -- vs.render only records its clip in render_clip and returns: true in
  -- every state the engine loads, and while the REPL or preview runs a script
  record_render = false,
  render_clip = nil,
  -- inside the engine: vs.video shares one decoder per file across workers
  shared_video = false,
  -- {clip =, path =}: the clip the REPL's last script returned, which
  -- vs.render may render by re-running that script in its workers
  script_clip = nil,
}
