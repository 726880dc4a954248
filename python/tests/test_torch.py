"""vstudio.torch in a real torch DataLoader: every frame once, ffmpeg's pixels."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="python3-torch is not installed (scripts/install-deps installs it)")
import vstudio.torch  # noqa: E402
from conftest import decode_rgb, ffmpeg  # noqa: E402


@pytest.fixture(scope="module")
def same_size(media, tmp_path_factory):
    """The B-frame clip and a 64x48 frame folder (of another clip), with ffmpeg's decodes."""
    d = tmp_path_factory.mktemp("frames") / "shots"
    d.mkdir()
    ffmpeg("-f", "lavfi", "-i", "mandelbrot=s=64x48:r=10", "-frames:v", "23", str(d / "f%d.png"))
    want = {str(media["h264"]): decode_rgb(media["h264"], 64, 48),
            str(d): decode_rgb(d / "f%d.png", 64, 48)}
    return [media["h264"], d], want


@pytest.mark.parametrize("num_workers", [0, 2])
def test_dataloader_sees_every_frame_once_with_ffmpegs_values(same_size, num_workers):
    paths, want = same_size
    ds = vstudio.torch.VideoDataset(paths, info=True, batch=6, workers=1, layout="nchw", dtype="float32")
    assert len(ds) == 40 + 23
    seen = {}
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=num_workers)
    for frames, batch_paths, indices in loader:
        assert isinstance(frames, torch.Tensor) and frames.dtype == torch.float32 and frames.shape[1] == 3
        for k, (p, i) in enumerate(zip(batch_paths, indices.tolist())):
            assert (p, i) not in seen, "frame %s:%d seen twice" % (p, i)
            seen[(p, i)] = frames[k]
    assert len(seen) == 63
    for (p, i), t in seen.items():
        assert np.array_equal(t.numpy(), want[p][i].transpose(2, 0, 1).astype(np.float32) / 255), \
            "%s frame %d" % (p, i)


def test_tensors_share_the_batch_memory(media):
    ds = vstudio.torch.VideoDataset(media["h264"], batch=8)
    t = next(iter(ds))
    assert t.dtype == torch.uint8 and t.shape == (8, 48, 64, 3)
    t[0, 0, 0, 0] = 7  # from_numpy: a view, writable, no copy made
    assert int(t[0, 0, 0, 0]) == 7


def test_a_shard_is_split_again_over_the_loader_workers(media):
    paths = [media["h264"], media["pngs"]]
    whole = set()
    for i in range(2):
        ds = vstudio.torch.VideoDataset(paths, info=True, batch=5, workers=1, shard=(i, 2), size=(32, 24))
        got = [(p, k) for _, ps, ix in torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2)
               for p, k in zip(ps, ix.tolist())]
        assert len(got) == len(set(got)) == len(ds)
        whole |= set(got)
    assert len(whole) == 63
