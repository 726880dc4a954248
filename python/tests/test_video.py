"""vstudio.probe and vstudio.Video against ffprobe and ffmpeg's decode."""
import os

import numpy as np
import pytest

import vstudio
from conftest import decode_rgb, ffmpeg, ffprobe


def test_probe_matches_ffprobe(media):
    for key in ("h264", "vp9"):
        p = vstudio.probe(media[key])
        want = ffprobe(media[key])
        assert (p["width"], p["height"]) == (int(want["width"]), int(want["height"]))
        assert p["frames"] == int(want["nb_read_frames"])
        assert "%d/%d" % (p["fps_num"], p["fps_den"]) == want["r_frame_rate"]
        assert p["codec"] == want["codec_name"] and p["pix_fmt"] == want["pix_fmt"]
        assert p["duration"] == pytest.approx(p["frames"] * p["fps_den"] / p["fps_num"])
    assert vstudio.probe(media["h264"], cache=False)["frames"] == 40


@pytest.mark.parametrize("key", ["h264", "vp9"])
def test_frames_equal_ffmpeg_decode(media, oracle, key):
    v = vstudio.Video(media[key])
    want = oracle[key]
    assert len(v) == len(want) and v.shape == want.shape[1:]
    for i, f in enumerate(v):  # in order, without seeking
        assert f.dtype == np.uint8 and f.shape == want.shape[1:]
        assert np.array_equal(f, want[i]), "frame %d differs from ffmpeg's decode" % i


def test_random_access_is_frame_exact(media, oracle):
    v = vstudio.Video(str(media["h264"]))
    want = oracle["h264"]
    rng = np.random.default_rng(7)
    idx = [int(i) for i in rng.integers(0, 40, 12)] + [39, 0, 39, 5]
    got = v.get(idx)
    assert got.shape == (len(idx), 48, 64, 3)
    for k, i in enumerate(idx):
        assert np.array_equal(got[k], want[i]), "get: frame %d" % i
    for i in (31, 2, -1, -40, 17):
        assert np.array_equal(v[i], want[i]), "v[%d]" % i
    assert np.array_equal(v[3:9:2], want[3:9:2])


def test_edit_list_cut_counts_and_numbers_as_ffmpeg(tmp_path, media):
    # `-ss` with `-c copy`: an edit list discards the first GOP's leading frames
    cut = tmp_path / "cut.mp4"
    ffmpeg("-ss", "0.3", "-i", str(media["h264"]), "-c", "copy", str(cut))
    want = decode_rgb(cut, 64, 48)
    n = int(ffprobe(cut)["nb_read_frames"])
    assert len(want) == n and 30 < n < 40
    assert vstudio.probe(cut)["frames"] == n  # cold cache
    with vstudio.Video(cut) as v:  # a seek back builds and caches the frame index
        assert np.array_equal(v[n - 1], want[n - 1]) and np.array_equal(v[1], want[1])
    assert vstudio.probe(cut)["frames"] == n  # warm cache
    with vstudio.Video(cut) as v:
        assert len(v) == n
        for i in (0, n // 2, n - 1):
            assert np.array_equal(v[i], want[i]), "v[%d]" % i
        for i, f in enumerate(v):
            assert np.array_equal(f, want[i]), "frame %d" % i


def test_index_errors(media):
    v = vstudio.Video(media["h264"])
    for i in (40, -41, 10 ** 12):
        with pytest.raises(IndexError, match="out of range"):
            v[i]
    with pytest.raises(IndexError):
        v.get([1, 40])
    with pytest.raises(TypeError):
        v[1.5]


def test_rgba_and_gray(media, oracle):
    want = oracle["h264"]
    with vstudio.Video(media["h264"], rgba=True) as v:
        f = v[7]
        assert f.shape == (48, 64, 4) and f.flags.c_contiguous
        assert np.array_equal(f[..., :3], want[7]) and (f[..., 3] == 255).all()
        assert np.array_equal(v.get([7])[0], f)
    with pytest.raises(ValueError, match="closed"):
        v.get([1])
    with pytest.raises(ValueError, match="closed"):
        v[1]
    g = vstudio.Video(media["h264"], format="gray")[7]
    assert g.shape == (48, 64, 1)
    w = want[7].astype(np.int32)
    luma = (77 * w[..., 0] + 150 * w[..., 1] + 29 * w[..., 2] + 128) >> 8
    assert np.array_equal(g[..., 0], luma)
    with pytest.raises(ValueError, match="format"):
        vstudio.Video(media["h264"], format="yuv")


def test_bad_files(tmp_path, media):
    with pytest.raises(FileNotFoundError, match="no-such.mp4"):
        vstudio.Video(tmp_path / "no-such.mp4")
    with pytest.raises(FileNotFoundError):
        vstudio.probe(tmp_path / "no-such.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 20)
    for f in (vstudio.probe, vstudio.Video):
        with pytest.raises(vstudio.Error, match="notes.mp4"):
            f(text)
    cut = tmp_path / "cut.mp4"
    data = media["h264"].read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(vstudio.Error, match="cut.mp4") as e:
        vstudio.Video(cut)[30]
    assert isinstance(e.value, RuntimeError)


def test_video_of_a_vstudio_written_file_roundtrips(tmp_path, oracle):
    out = tmp_path / "rt.mkv"
    with vstudio.Writer(out, codec="ffv1", pix_fmt="bgr0") as w:
        w.write(oracle["pngs"])
    v = vstudio.Video(out)
    assert len(v) == 23 and np.array_equal(v.get(range(23)), oracle["pngs"])
    assert os.path.getsize(out) > 0
