"""vstudio.torch: vstudio.Dataset as a torch IterableDataset.

    from vstudio.torch import VideoDataset
    ds = VideoDataset(paths, batch=16, size=224, layout='nchw', dtype='float32')
    for frames in torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2):
        ...                      # frames: (N, C, H, W) tensor, made by torch.from_numpy (no copy)

The batches are vstudio's (batch_size=None tells the DataLoader not to batch
again). Each DataLoader worker process (torch.utils.data.get_worker_info) and
each distributed rank (torch.distributed, when initialised) iterates its own
shard of the frames, so every frame is seen exactly once over all of them,
with num_workers=0 or more; a shard= given here is split further the same way.
Each worker process runs its own C decoding threads (workers=, default one
per core: with several DataLoader workers, give workers=1 or 2).
Importing this module needs torch; `import vstudio` alone does not.
"""
import torch
import torch.utils.data

from .dataset import Dataset


def _split():
    """(index, count) of this process among the ranks x DataLoader workers."""
    rank, world = 0, 1
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    info = torch.utils.data.get_worker_info()
    wid, nw = (info.id, info.num_workers) if info is not None else (0, 1)
    return rank * nw + wid, world * nw


class VideoDataset(torch.utils.data.IterableDataset):
    """An IterableDataset over vstudio.Dataset(paths, **options) (same arguments).

    info=False yields the frames tensor of each batch; info=True yields
    (frames, paths, indices) with indices an int64 tensor. len() is the frame
    count of the whole dataset (the shard given, if any), not the batch count.
    """

    def __init__(self, paths, info=False, **options):
        super().__init__()
        self.paths = paths
        self.info = info
        self.options = options
        self._frames = len(Dataset(paths, **options))  # probes here: the workers hit the cache

    def __len__(self):
        return self._frames

    def __iter__(self):
        opts = dict(self.options)
        i, n = opts.pop("shard", None) or (0, 1)
        k, m = _split()
        # shard k of m inside shard i of n: shard i*m + k of n*m (the ordinal ranges nest exactly)
        ds = Dataset(self.paths, shard=(i * m + k, n * m), **opts)
        for b in ds:
            frames = torch.from_numpy(b.frames)
            if self.info:
                yield frames, b.paths, torch.from_numpy(b.indices)
            else:
                yield frames
