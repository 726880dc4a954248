"""Fixtures for the Python face's tests: media made by ffmpeg, ffmpeg's own
decode as the oracle. scripts/run-tests runs these with VSTUDIO_LIB and a
private XDG_CACHE_HOME; run alone (python3 -m pytest python/tests) they use
the tree's build/ and a temporary cache."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
if "XDG_CACHE_HOME" not in os.environ:  # never the user's probe cache
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="vstudio-pytest-cache.")


def tool_env():
    """The environment for ffmpeg and other tools: without the sanitizer
    runtime that make check preloads into python3."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    return env


def run(*args):
    r = subprocess.run(list(args), capture_output=True, env=tool_env())
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def ffmpeg(*args):
    run("ffmpeg", "-v", "error", "-y", *args)


def decode_rgb(path, width, height):
    """Every frame of path as ffmpeg decodes it to rgb24: (N, H, W, 3)."""
    raw = run("ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def ffprobe(path, entries="stream=width,height,codec_name,pix_fmt,r_frame_rate,nb_read_frames"):
    out = run("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
              entries, "-of", "default=nw=1", str(path)).decode()
    return dict(line.split("=", 1) for line in out.split())


@pytest.fixture(scope="session")
def media(tmp_path_factory):
    """Small clips made once: H.264 with B-frames, VP9, a PNG frame folder."""
    d = tmp_path_factory.mktemp("media")
    m = {"dir": d}
    m["h264"] = d / "bframes.mp4"  # B-frames and short GOPs: decode order != display order
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x48:r=25", "-frames:v", "40", "-c:v", "libx264",
           "-bf", "3", "-g", "12", "-pix_fmt", "yuv420p", str(m["h264"]))
    m["vp9"] = d / "clip.webm"
    ffmpeg("-f", "lavfi", "-i", "mandelbrot=s=48x32:r=10", "-frames:v", "17", "-c:v", "libvpx-vp9",
           "-deadline", "realtime", "-cpu-used", "8", str(m["vp9"]))
    m["pngs"] = d / "pngs"
    m["pngs"].mkdir()
    # img_1 .. img_23: natural order differs from byte order (img_10 before img_2)
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=40x30:r=5", "-frames:v", "23", "-start_number", "1",
           str(m["pngs"] / "img_%d.png"))
    return m


@pytest.fixture(scope="session")
def oracle(media):
    """ffmpeg's rgb24 decode of each fixture (a folder: its images in natural order)."""
    o = {"h264": decode_rgb(media["h264"], 64, 48), "vp9": decode_rgb(media["vp9"], 48, 32)}
    o["pngs"] = np.stack([decode_rgb(media["pngs"] / ("img_%d.png" % k), 40, 30)[0] for k in range(1, 24)])
    return o
