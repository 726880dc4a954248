"""vstudio.Dataset: batches against ffmpeg's decode; the order is the options'."""
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import vstudio
from conftest import decode_rgb, ffmpeg, run


def sources(media):
    return [media["h264"], media["pngs"], media["vp9"]]


def collect(ds):
    items, sizes = [], []
    for b in ds:
        sizes.append(len(b))
        assert len(b.paths) == len(b.indices) == len(b.files) == b.frames.shape[0]
        for k in range(len(b)):
            items.append((b.paths[k], int(b.indices[k]), b.files[k], b.frames[k]))
    return items, sizes


def key_of(media, path):
    return {str(media[k]): k for k in ("h264", "vp9", "pngs")}[path]


def test_full_batches_but_the_last(media):
    ds = vstudio.Dataset([media["h264"]], batch=6, workers=2)
    assert len(ds) == 40
    items, sizes = collect(ds)
    assert sizes == [6] * 6 + [4]
    assert sorted(i for _, i, _, _ in items) == list(range(40))


@pytest.mark.parametrize("key", ["h264", "vp9", "pngs"])
def test_batches_equal_ffmpeg_decode(media, oracle, key):
    ds = vstudio.Dataset(media[key], batch=5, workers=2)
    items, _ = collect(ds)
    assert len(items) == len(oracle[key]) == len(ds)
    assert [i for _, i, _, _ in items] == list(range(len(oracle[key])))  # one source: in order
    for path, i, _, f in items:
        assert path == str(media[key])
        assert f.dtype == np.uint8 and np.array_equal(f, oracle[key][i]), "%s frame %d" % (key, i)


def test_folder_frames_carry_their_file_names(media, oracle):
    items, _ = collect(vstudio.Dataset(media["pngs"], batch=8))
    # natural order: img_1, img_2, ..., img_10, not img_1, img_10, img_11
    assert [os.path.basename(f) for _, _, f, _ in items] == ["img_%d.png" % k for k in range(1, 24)]
    items, _ = collect(vstudio.Dataset(media["h264"], batch=8))
    assert {f for _, _, f, _ in items} == {str(media["h264"])}


def test_the_order_does_not_depend_on_the_workers(media):
    runs = []
    for workers in (1, 2, 3):
        items, sizes = collect(vstudio.Dataset(sources(media), batch=7, workers=workers, size=(32, 24)))
        runs.append(([(p, i) for p, i, _, _ in items], sizes, np.stack([f for *_, f in items])))
    assert len(runs[0][0]) == 40 + 23 + 17 and len(set(runs[0][0])) == 80
    for order, sizes, pixels in runs[1:]:
        assert order == runs[0][0] and sizes == runs[0][1]
        assert np.array_equal(pixels, runs[0][2])
    # lanes change the order (they are an option); a second run repeats it
    one_lane = [(p, i) for p, i, _, _ in collect(vstudio.Dataset(sources(media), batch=7, lanes=1, size=(32, 24)))[0]]
    assert one_lane != runs[0][0] and sorted(one_lane) == sorted(runs[0][0])
    again = [(p, i) for p, i, _, _ in collect(vstudio.Dataset(sources(media), batch=7, lanes=1, size=(32, 24)))[0]]
    assert again == one_lane


def test_layouts_dtypes_size_gray(media):
    base = [b.frames for b in vstudio.Dataset(media["h264"], batch=8, size=(32, 24))]
    assert base[0].shape == (8, 24, 32, 3)
    chw = [b.frames for b in vstudio.Dataset(media["h264"], batch=8, size=(32, 24), layout="nchw",
                                             dtype="float32")]
    assert chw[0].shape == (8, 3, 24, 32) and chw[0].dtype == np.float32
    for a, b in zip(base, chw):
        assert np.array_equal(a.transpose(0, 3, 1, 2).astype(np.float32) / 255, b)
    gray = next(iter(vstudio.Dataset(media["h264"], batch=8, size=(32, 24), gray=True))).frames
    assert gray.shape == (8, 24, 32, 1)
    w = base[0].astype(np.int32)
    assert np.abs(gray[..., 0] - ((77 * w[..., 0] + 150 * w[..., 1] + 29 * w[..., 2] + 128) >> 8)).max() <= 1


def test_selection_and_shards_cover_every_frame_once(media):
    ds = vstudio.Dataset(sources(media), frames=(2, 20), every=3, batch=4, size=(32, 24))
    items, _ = collect(ds)
    assert len(items) == len(ds) == 6 + 6 + 5  # 2, 5, ..., 17 (the VP9 clip has 17 frames)
    assert all(i in range(2, 20, 3) for _, i, _, _ in items)
    seen = []
    for i in range(3):
        part = vstudio.Dataset(sources(media), shard=(i, 3), batch=4, size=(32, 24))
        got = [(p, k) for p, k, _, _ in collect(part)[0]]
        assert len(got) == len(part)
        seen += got
    assert len(seen) == 80 and len(set(seen)) == 80


def test_batches_are_the_callers_to_keep(media, oracle):
    kept = [b.frames for b in vstudio.Dataset(media["h264"], batch=4)]
    assert np.array_equal(np.concatenate(kept), oracle["h264"])


def test_bad_input(tmp_path, media):
    with pytest.raises(FileNotFoundError, match="2 of 3 paths not found"):
        vstudio.Dataset([media["h264"], tmp_path / "a.mp4", tmp_path / "b"])
    text = tmp_path / "text.mp4"
    text.write_text("not a video\n")
    with pytest.raises(vstudio.Error, match="text.mp4"):
        vstudio.Dataset([media["h264"], text])
    ds = vstudio.Dataset([media["h264"], text], on_error="skip")
    assert len(ds) == 40 and len(ds.skipped) == 1 and "text.mp4" in ds.skipped[0]
    for bad in (dict(batch=0), dict(workers=0), dict(layout="hwc"), dict(dtype="int8"), dict(shard=(3, 3)),
                dict(size=(0, 5)), dict(frames=(5, 2)), dict(on_error="ignore"), dict(crop=(1, 2))):
        with pytest.raises(ValueError):
            vstudio.Dataset(media["h264"], **bad)


def test_a_corrupt_frame_in_a_folder(tmp_path, media, oracle):
    d = tmp_path / "shots"
    shutil.copytree(media["pngs"], d)
    data = (d / "img_9.png").read_bytes()
    (d / "img_9.png").write_bytes(data[: len(data) // 2])  # truncated PNG
    seen = []
    with pytest.raises(vstudio.Error, match=r"shots: frame 8: .*shots/img_9.png: truncated PNG"):
        for b in vstudio.Dataset(d, batch=3, workers=1):
            seen += [int(i) for i in b.indices]
    assert seen == list(range(8))  # the frames before it came first
    with pytest.warns(RuntimeWarning, match="img_9.png"):
        items, _ = collect(vstudio.Dataset(d, batch=3, on_error="skip"))
    assert [i for _, i, _, _ in items] == [i for i in range(23) if i != 8]


def test_frames_of_different_sizes_need_a_size(media):
    with pytest.raises(vstudio.Error, match="give the dataset a size"):
        for _ in vstudio.Dataset([media["h264"], media["vp9"]], batch=80):
            pass


def test_breaking_out_stops_the_workers_and_a_new_loop_restarts(media, oracle):
    ds = vstudio.Dataset(sources(media), batch=4, size=(32, 24))
    first = next(iter(ds)).frames
    for b in ds:
        break
    again = next(iter(ds)).frames
    assert np.array_equal(first, again)


CTRL_C = r"""
import signal, sys, time, vstudio
# Python's own Ctrl-C handler, also where the test runner was started with SIGINT ignored
signal.signal(signal.SIGINT, signal.default_int_handler)
ds = vstudio.Dataset(sys.argv[1:], batch=2, workers=2, size=(320, 240))
print("ready", flush=True)
try:
    while True:
        for b in ds:
            time.sleep(0.01)
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def test_ctrl_c_stops_a_dataset_loop_at_once(tmp_path, media):
    big = tmp_path / "big.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=640x480:r=25", "-frames:v", "150", "-c:v", "libx264",
           "-preset", "ultrafast", str(big))
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), ".."))
    p = subprocess.Popen([sys.executable, "-c", CTRL_C, str(big), str(big)], stdout=subprocess.PIPE, env=env,
                         text=True)
    assert p.stdout.readline().strip() == "ready"
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    try:
        out, _ = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        pytest.fail("a dataset loop did not stop on Ctrl-C")
    assert "interrupted" in out and p.returncode == 0


SLOW_BATCH = r"""
import signal, sys, time, vstudio
signal.signal(signal.SIGINT, signal.default_int_handler)
# one batch of every frame of many copies on one worker: seconds before it arrives
ds = vstudio.Dataset(sys.argv[1:], batch=6000, workers=1, lanes=1, size=(64, 48))
print("ready", flush=True)
try:
    for b in ds:
        print("batch", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def test_ctrl_c_while_c_waits_for_a_batch_is_raised_at_once(tmp_path):
    big = tmp_path / "big.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=640x480:r=25", "-frames:v", "150", "-c:v", "libx264",
           "-preset", "ultrafast", str(big))
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), ".."))
    p = subprocess.Popen([sys.executable, "-c", SLOW_BATCH] + [str(big)] * 40, stdout=subprocess.PIPE,
                         env=env, text=True)
    assert p.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    t = time.monotonic()
    try:
        out, _ = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        pytest.fail("a dataset loop did not stop on Ctrl-C")
    # 6000 frames on one worker take far longer than this: raised while waiting, not at the batch
    assert out.split() == ["interrupted"] and p.returncode == 0
    assert time.monotonic() - t < 3.0


def test_skipped_images_shorten_no_batch_and_keep_the_order(tmp_path, media):
    d = tmp_path / "shots"
    shutil.copytree(media["pngs"], d)
    for n in (3, 9, 10):
        f = d / ("img_%d.png" % n)
        f.write_bytes(f.read_bytes()[:100])
    runs = []
    for workers in (1, 2, 3):
        with pytest.warns(RuntimeWarning):
            items, sizes = collect(vstudio.Dataset([media["h264"], d, media["vp9"]], batch=5, workers=workers,
                                                   size=(16, 12), on_error="skip", lanes=3))
        runs.append(([(p, i) for p, i, _, _ in items], sizes))
    order, sizes = runs[0]
    assert len(order) == 40 + 20 + 17 and sizes == [5] * 15 + [2]
    assert sorted(i for p, i in order if p == str(d)) == [i for i in range(23) if i not in (2, 8, 9)]
    assert runs[1] == runs[0] and runs[2] == runs[0]


def test_a_video_is_resized_in_its_conversion_from_yuv_as_ffmpeg_scales(tmp_path):
    v = tmp_path / "v.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=640x360:r=25", "-frames:v", "10", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", str(v))
    # one area-average pass from the YUV planes to RGBA, as ffmpeg's scale filter does it
    # with the same libswscale: equal to rounding
    want = run("ffmpeg", "-v", "error", "-i", str(v), "-vf", "scale=96:64:flags=area", "-f", "rawvideo",
               "-pix_fmt", "rgba", "-")
    want = np.frombuffer(want, np.uint8).reshape(-1, 64, 96, 4)[..., :3].astype(int)
    got = np.concatenate([b.frames for b in vstudio.Dataset(v, batch=4, size=(96, 64))]).astype(int)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1 and np.abs(got - want).mean() < 0.05
    # fit: the same scaling into the rectangle between the bars
    fit = np.concatenate([b.frames for b in vstudio.Dataset(v, batch=4, size=(96, 96), resize="fit")])
    inner = np.concatenate([b.frames for b in vstudio.Dataset(v, batch=4, size=(96, 54))])
    assert np.array_equal(fit[:, 21:75], inner) and (fit[:, :21] == 0).all()


@pytest.mark.parametrize("opts, graph, shape", [
    (dict(size=64), "scale=64:64:flags=area", (64, 64)),
    (dict(size=64, resize="fit"), "scale=64:36:flags=area,format=rgba,pad=64:64:0:14:black", (64, 64)),
    (dict(size=64, resize="fill"), "crop=180:180:70:0,scale=64:64:flags=area", (64, 64)),
    (dict(size=(50, 30), crop=(40, 20, 200, 120)), "crop=200:120:40:20,scale=50:30:flags=area", (30, 50)),
    # off the 4:2:0 chroma grid: cut from the whole RGBA frame, as format=rgba,crop does
    (dict(size=(50, 30), crop=(41, 21, 200, 120)), "format=rgba,crop=200:120:41:21,scale=50:30:flags=area",
     (30, 50)),
])
def test_videos_are_cropped_and_resized_in_one_pass_from_yuv_as_ffmpeg_does(tmp_path, opts, graph, shape):
    v = tmp_path / "wide.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x180:r=25,noise=alls=20:allf=t", "-frames:v", "6",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", str(v))
    # ffmpeg's crop and scale with the same libswscale and filter: equal to rounding
    want = run("ffmpeg", "-v", "error", "-i", str(v), "-vf", graph + ",format=rgba", "-f", "rawvideo",
               "-pix_fmt", "rgba", "-")
    want = np.frombuffer(want, np.uint8).reshape((-1,) + shape + (4,))[..., :3].astype(int)
    got = np.concatenate([b.frames for b in vstudio.Dataset(v, batch=4, **opts)]).astype(int)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1 and np.abs(got - want).mean() < 0.05
    # the batch's own layout and dtype from the same pixels
    chw = np.concatenate([b.frames for b in vstudio.Dataset(v, batch=4, layout="nchw", dtype="float32", **opts)])
    assert np.array_equal(chw, got.transpose(0, 3, 1, 2).astype(np.float32) / 255)


def test_resize_fit_fill_stretch(tmp_path):
    wide = tmp_path / "wide.mp4"  # 2:1 into a square
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x32:r=25", "-frames:v", "4", "-c:v", "libx264", str(wide))
    src = decode_rgb(wide, 64, 32)

    def frames(**kw):
        return np.concatenate([b.frames for b in vstudio.Dataset(wide, batch=4, **kw)])

    # fill: the centred 32x32 of the source, unscaled: ffmpeg's pixels exactly
    assert np.array_equal(frames(size=32, resize="fill"), src[:, :, 16:48])
    # fit: the whole frame scaled to 32x16 between black bars of 8 rows
    fit = frames(size=32, resize="fit")
    assert (fit[:, :8] == 0).all() and (fit[:, 24:] == 0).all()
    assert np.array_equal(fit[:, 8:24], frames(size=(32, 16)))
    assert fit[:, 8:24].mean() > 40
    # stretch (the default): the whole frame squeezed, no bars
    stretch = frames(size=32)
    assert np.array_equal(stretch, frames(size=32, resize="stretch"))
    assert not np.array_equal(stretch, fit) and stretch[:, :8].mean() > 40
    with pytest.raises(ValueError, match="resize"):
        vstudio.Dataset(wide, size=32, resize="pad")


def test_shuffle_is_a_seeded_order_of_the_sources_the_same_as_luas(tmp_path, media):
    paths = []
    for k in range(6):
        d = tmp_path / ("s%d" % k)
        d.mkdir()
        shutil.copy(media["pngs"] / ("img_%d.png" % (k + 1)), d / "f1.png")
        paths.append(str(d))
    orders = {seed: vstudio.Dataset(paths, shuffle=seed).paths for seed in (0, 1, 2, 3)}
    assert all(sorted(o) == paths for o in orders.values())
    assert len({tuple(o) for o in orders.values()}) > 1 and any(o != paths for o in orders.values())
    assert vstudio.Dataset(paths, shuffle=2).paths == orders[2]          # every run repeats it
    items, _ = collect(vstudio.Dataset(paths, shuffle=2, lanes=1))     # and the batches follow it
    assert [p for p, *_ in items] == orders[2]
    # Lua's vs.dataset{shuffle = 2} adds them in the same order
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    lua = ("local vs = require 'vstudio'; local ds = vs.dataset{ paths = { %s }, shuffle = 2 }; "
           "print(table.concat(ds.source_paths, '\\n'))" % ", ".join("%r" % p for p in paths))
    env = dict(os.environ, LUA_PATH=os.path.join(root, "lua", "?.lua") + ";" +
               os.path.join(root, "lua", "?", "init.lua") + ";;")
    out = subprocess.run(["luajit", "-e", lua], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == orders[2]
    with pytest.raises(ValueError, match="shuffle"):
        vstudio.Dataset(paths, shuffle=-1)


def test_shuffle_chunks_orders_pieces_of_every_source_the_same_every_run(media):
    paths = [media["h264"], media["pngs"], media["vp9"]]   # 40, 23 and 17 frames

    def order(**kw):
        ds = vstudio.Dataset(paths, batch=8, size=(16, 12), shuffle=dict(seed=5, chunk=10), **kw)
        return [(p, i) for p, i, _, _ in collect(ds)[0]]

    one = order(lanes=1)
    plain = [(p, i) for p, i, _, _ in collect(vstudio.Dataset(paths, batch=8, size=(16, 12), shuffle=5,
                                                               lanes=1))[0]]
    assert sorted(one) == sorted(plain) and len(one) == 80 and one != plain
    # one lane: whole chunks one after another, each starting at a multiple of 10 of its source
    starts = [k for k in range(80) if k == 0 or one[k][0] != one[k - 1][0] or one[k][1] != one[k - 1][1] + 1]
    assert all(one[k][1] % 10 == 0 for k in starts)
    chunk_starts = [one[k] for k in range(80) if one[k][1] % 10 == 0]
    assert len(chunk_starts) == 4 + 3 + 2 and chunk_starts != sorted(chunk_starts, key=plain.index)
    assert order(lanes=1) == one and order(lanes=1, workers=3) == one
    many = order()
    assert order(workers=1) == many and sorted(many) == sorted(one)
    seen = []
    for i in range(3):
        seen += [(p, k) for p, k, _, _ in collect(vstudio.Dataset(paths, batch=8, size=(16, 12), shard=(i, 3),
                                                                  shuffle=dict(seed=5, chunk=10)))[0]]
    assert sorted(seen) == sorted(one)
    with pytest.raises(ValueError, match="shuffle"):
        vstudio.Dataset(paths, shuffle=dict(chunk=3))


@pytest.mark.parametrize("key", ["h264", "pngs"])
def test_clips_of_frames(media, oracle, key):
    want = oracle[key]
    n = len(want)
    for clip, starts in ((dict(length=4, stride=6, step=2), range(0, n - 6, 6)),   # gaps
                         (dict(length=5, stride=2), range(0, n - 4, 2)),           # overlapping
                         (3, range(0, n - 2, 3))):                                 # back to back
        ds = vstudio.Dataset(media[key], batch=4, clip=clip, workers=2)
        c = clip if isinstance(clip, dict) else dict(length=clip)
        t, step = c["length"], c.get("step", 1)
        assert len(ds) == len(starts)
        got = []
        for b in ds:
            assert b.frames.shape[1:] == (t,) + want.shape[1:] and b.indices.shape == (len(b), t)
            assert len(b.files) == len(b) and all(len(f) == t for f in b.files)
            for k in range(len(b)):
                s = int(b.indices[k, 0])
                assert list(b.indices[k]) == [s + j * step for j in range(t)]
                assert np.array_equal(b.frames[k], want[s:s + t * step:step]), "clip at %d" % s
                got.append(s)
        assert sorted(got) == list(starts)


@pytest.mark.parametrize("key", ["h264", "pngs"])
def test_clips_count_in_the_frames_every_keeps(media, oracle, key):
    want = oracle[key]
    kept = list(range(3, len(want), 2))                  # frames=(3, end), every=2
    ds = vstudio.Dataset(media[key], batch=3, clip=dict(length=3, stride=4, step=2), every=2,
                         frames=(3, 1000), workers=2)
    starts = list(range(0, len(kept) - 4, 4))            # a clip spans (3 - 1) * 2 + 1 kept frames
    assert len(ds) == len(starts)
    got = []
    for b in ds:
        for k in range(len(b)):
            got.append([int(i) for i in b.indices[k]])
            assert np.array_equal(b.frames[k], want[b.indices[k]])
    assert got == [[kept[s], kept[s + 2], kept[s + 4]] for s in starts]


def test_clips_from_many_sources_same_for_any_workers(media):
    runs = []
    for workers in (1, 3):
        ds = vstudio.Dataset(sources(media), batch=3, size=(16, 12), clip=dict(length=4, step=2),
                             layout="nchw", workers=workers)
        assert len(ds) == 5 + 3 + 2  # 40, 23 and 17 frames in clips spanning 7, 8 apart
        batches = list(ds)
        assert batches[0].frames.shape == (3, 4, 3, 12, 16)
        runs.append([(tuple(b.paths), b.indices.tolist(), b.frames.tobytes()) for b in batches])
    assert runs[0] == runs[1]
    with pytest.raises(ValueError, match="clips take no on_error skip"):
        vstudio.Dataset(media["h264"], clip=4, on_error="skip")
    with pytest.raises(ValueError, match="clip"):
        vstudio.Dataset(media["h264"], clip=dict(size=3))


def test_a_source_with_its_own_range(media, oracle):
    ds = vstudio.Dataset([(media["h264"], (5, 9)), media["h264"]], batch=50, frames=(30, 100))
    items, _ = collect(ds)
    assert len(ds) == 4 + 10
    assert sorted(i for _, i, _, _ in items) == [5, 6, 7, 8] + list(range(30, 40))
    for _, i, _, f in items:
        assert np.array_equal(f, oracle["h264"][i])
    with pytest.raises(ValueError, match="paths"):
        vstudio.Dataset([(media["h264"], (9, 5))])
