"""vstudio.Writer: what it wrote, checked with ffprobe and a lossless round trip."""
import os
import subprocess

import numpy as np
import pytest

import vstudio
from conftest import decode_rgb, ffprobe, run, tool_env


def plasma(n, h, w):
    """n float frames in [0, 1], as the numpy-to-ffmpeg posts make them."""
    y, x = np.mgrid[0:h, 0:w] / 16.0
    t = np.arange(n)[:, None, None] / 5.0
    v = np.sin(x + t) + np.sin(y * 1.3 - t) + np.sin((x + y + t) / 2)
    rgb = np.stack([np.sin(v * np.pi), np.sin(v * np.pi + 2), np.sin(v * np.pi + 4)], -1)
    return (rgb + 1) / 2


def temporaries(folder):
    """The writers' temporaries (.NAME.<pid>.<random>.part) left in a folder."""
    return [n for n in os.listdir(folder) if n.endswith(".part")]


def test_writes_an_mp4_ffprobe_reads(tmp_path):
    out = tmp_path / "plasma.mp4"
    frames = (plasma(12, 48, 64) * 255).astype(np.uint8)
    with vstudio.Writer(out, fps="30000/1001", crf=20, preset="veryfast", title="plasma") as w:
        w.write(frames[:5])                     # a batch
        for f in frames[5:]:
            w.write(f)                          # one frame at a time
        assert not out.exists() and len(temporaries(tmp_path)) == 1
    assert w.frames == 12 and temporaries(tmp_path) == []
    p = ffprobe(out)
    assert (p["width"], p["height"], p["codec_name"]) == ("64", "48", "h264")
    assert p["nb_read_frames"] == "12" and p["r_frame_rate"] == "30000/1001" and p["pix_fmt"] == "yuv420p"
    tags = run("ffprobe", "-v", "error", "-show_entries", "format_tags=title", "-of", "default=nw=1",
               str(out)).decode()
    assert "title=plasma" in tags
    # lossy (4:2:0 on a saturated plasma): as close as ffmpeg's own x264 encode of the same frames
    ref = tmp_path / "ffmpeg.mp4"
    r = subprocess.run(["ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "64x48",
                        "-r", "30000/1001", "-i", "-", "-c:v", "libx264", "-crf", "20", "-preset",
                        "veryfast", "-pix_fmt", "yuv420p", str(ref)], input=frames.tobytes(), env=tool_env())
    assert r.returncode == 0
    ours = np.abs(decode_rgb(out, 64, 48).astype(int) - frames).mean()
    theirs = np.abs(decode_rgb(ref, 64, 48).astype(int) - frames).mean()
    assert ours < theirs * 1.25 + 0.5, (ours, theirs)


def test_lossless_round_trip_uint8_float_and_array_likes(tmp_path):
    out = tmp_path / "exact.mkv"
    f = plasma(6, 30, 40)
    u8 = np.rint(f * 255).astype(np.uint8)         # as_uint8: rounded, not truncated

    class ArrayLike:
        def __init__(self, a):
            self.a = a

        def __array__(self, dtype=None):
            return self.a

    rgba = np.concatenate([u8[4], np.full((30, 40, 1), 255, np.uint8)], -1)
    with vstudio.Writer(out, codec="ffv1", pix_fmt="bgr0") as w:
        w.write(f[:2])                      # float64 batch
        w.write(f[2].astype(np.float32))    # float32 frame
        w.write(ArrayLike(u8[3]))           # __array__
        w.write(rgba)                       # (H, W, 4)
        w.write(u8[5])
    got = decode_rgb(out, 40, 30)
    assert got.shape == (6, 30, 40, 3)
    assert np.array_equal(got, u8)
    # float values outside [0, 1] are clipped
    with vstudio.Writer(tmp_path / "clip.mkv", codec="ffv1", pix_fmt="bgr0") as w:
        w.write(np.full((2, 30, 40, 3), 1.7))
        w.write(np.full((30, 40, 3), -0.2, np.float32))
    got = decode_rgb(tmp_path / "clip.mkv", 40, 30)
    assert (got[:2] == 255).all() and (got[2] == 0).all()


def test_reads_the_array_where_it_lies_and_is_done_with_it_when_write_returns(tmp_path):
    f = plasma(4, 32, 80)
    u8 = np.rint(f * 255).astype(np.uint8)
    views = u8[:, :, 8:72]                          # rows 80 pixels apart: no copy needed
    f32 = f[:, :, 8:72].astype(np.float32)
    want = np.rint(np.clip(f32, 0, 1) * np.float32(255)).astype(np.uint8)  # as_uint8 in float32
    buf = np.empty((32, 64, 3), np.uint8)           # one buffer, refilled after each write
    a, b, c = tmp_path / "a.mp4", tmp_path / "b.mp4", tmp_path / "c.mp4"
    with vstudio.Writer(a, crf=0, preset="ultrafast") as w:  # 4:2:0: straight from the rows
        for v in views:
            w.write(v)
    with vstudio.Writer(b, crf=0, preset="ultrafast") as w:
        for v in views:
            buf[...] = v
            w.write(buf)
            buf[...] = 0                            # the frame was taken when write returned
    with vstudio.Writer(c, crf=0, preset="ultrafast") as w:
        w.write(f32)                                # float32 rounded as it is converted
    ref = tmp_path / "ref.mp4"
    with vstudio.Writer(ref, crf=0, preset="ultrafast") as w:
        w.write(np.ascontiguousarray(views))
    ref_rgb = decode_rgb(ref, 64, 32)
    assert np.array_equal(decode_rgb(a, 64, 32), ref_rgb) and np.array_equal(decode_rgb(b, 64, 32), ref_rgb)
    with vstudio.Writer(ref, crf=0, preset="ultrafast") as w:
        w.write(want)
    assert np.array_equal(decode_rgb(c, 64, 32), decode_rgb(ref, 64, 32))


def test_torch_tensor_input(tmp_path):
    torch = pytest.importorskip("torch")
    out = tmp_path / "t.mkv"
    t = torch.rand(3, 16, 24, 3)
    with vstudio.Writer(out, codec="ffv1", pix_fmt="bgr0") as w:
        w.write(t)
    # rounded in the tensor's own precision (float32), as the Writer documents
    want = np.rint(t.numpy().clip(0, 1) * np.float32(255)).astype(np.uint8)
    assert np.array_equal(decode_rgb(out, 24, 16), want)


def test_wrong_sizes_shapes_and_dtypes(tmp_path):
    out = tmp_path / "bad.mp4"
    w = vstudio.Writer(out)
    w.write(np.zeros((48, 64, 3), np.uint8))
    with pytest.raises(ValueError, match=r"frame 1 is 32x48, the first was 64x48"):
        w.write(np.zeros((48, 32, 3), np.uint8))
    for shape in [(48, 64), (48, 64, 2), (1, 2, 48, 64, 3), (0, 64, 3)]:
        with pytest.raises(ValueError, match="shape"):
            w.write(np.zeros(shape, np.uint8))
    for dtype in (np.int64, np.uint16, bool):
        with pytest.raises(ValueError, match="dtype"):
            w.write(np.zeros((48, 64, 3), dtype))
    assert w.close() == 1 and out.exists()
    with pytest.raises(ValueError, match="after close"):
        w.write(np.zeros((48, 64, 3), np.uint8))
    with pytest.raises(ValueError, match="crf"):
        vstudio.Writer(out, crf=99)
    with pytest.raises(ValueError, match="fps"):
        vstudio.Writer(out, fps="fast")


def test_encoder_errors_are_vstudio_errors(tmp_path):
    w = vstudio.Writer(tmp_path / "x.mp4", codec="no-such-codec")
    with pytest.raises(vstudio.Error, match="no-such-codec"):
        w.write(np.zeros((16, 16, 3), np.uint8))
    assert os.listdir(tmp_path) == []
    with pytest.raises(vstudio.Error, match="no frames"):
        with vstudio.Writer(tmp_path / "empty.mp4"):
            pass
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_an_exception_inside_with_leaves_no_file(tmp_path, exc):
    out = tmp_path / "partial.mp4"
    with pytest.raises(exc):
        with vstudio.Writer(out, preset="veryfast") as w:
            w.write(plasma(20, 48, 64))
            raise exc("stop")
    assert os.listdir(tmp_path) == []     # neither partial.mp4 nor its temporary


def test_a_writer_dropped_unclosed_leaves_no_file(tmp_path):
    w = vstudio.Writer(tmp_path / "dropped.mp4")
    w.write(np.zeros((16, 16, 3), np.uint8))
    del w
    import gc
    gc.collect()
    assert os.listdir(tmp_path) == []
