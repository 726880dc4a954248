"""vstudio.probe's audio fields against ffprobe and ffmpeg's decode."""
import json
import subprocess

import vstudio
from conftest import ffmpeg, tool_env


def test_probe_reports_the_first_audio_stream(tmp_path):
    av, mute = tmp_path / "av.mkv", tmp_path / "mute.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=1", "-f", "lavfi",
           "-i", "sine=frequency=440:duration=1:sample_rate=48000", "-c:v", "libx264", "-c:a", "libopus",
           "-ac", "2", str(av))
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=1", "-c:v", "libx264", str(mute))
    want = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
         "stream=codec_name,sample_rate,channels", "-of", "json", str(av)],
        capture_output=True, env=tool_env(), check=True).stdout)["streams"][0]
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", str(av), "-f", "f32le", "-ac", "2", "-"],
                             capture_output=True, env=tool_env(), check=True).stdout
    for cache in (False, True, True):
        a = vstudio.probe(av, cache=cache)["audio"]
        assert a["codec"] == want["codec_name"] == "opus"
        assert (a["rate"], a["channels"], a["streams"]) == (int(want["sample_rate"]), want["channels"], 1)
        # Matroska's Opus: pre-skip and end padding cut, as the decoder does
        assert a["samples"] == len(decoded) // 8
        assert abs(a["duration"] - a["samples"] / a["rate"]) < 1e-6
    assert vstudio.probe(mute)["audio"] is None
