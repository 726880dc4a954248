"""vstudio.Dataset: the batches of vs.dataset (src/dataset.c) as numpy arrays."""
import os
import warnings

import numpy as np

from ._lib import Error, ffi, lib, last_error, path_arg

MAX_WORKERS = 256


class Batch:
    """One batch: frames (N, H, W, C) or (N, C, H, W) ndarray, owned by the caller;
    paths[k] the source of frame k, indices[k] its 0-based frame number there
    (int64 ndarray), files[k] the image file for a frame folder (the video path
    for a video). With clips, N clips: frames (N, T, ...), indices and files (N, T)."""

    __slots__ = ("frames", "paths", "indices", "files")

    def __init__(self, frames, paths, indices, files):
        self.frames, self.paths, self.indices, self.files = frames, paths, indices, files

    def __len__(self):
        return len(self.paths)

    def __repr__(self):
        return "vstudio.Batch(%d frames, %s %s)" % (len(self), self.frames.shape, self.frames.dtype)


def _int(v, lo, hi, what):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
        raise ValueError("vstudio: Dataset: %s must be an integer in %d..%d, got %r" % (what, lo, hi, v))
    return int(v)


def _pair(v, what):
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return int(v), int(v)
    try:
        a, b = v
    except (TypeError, ValueError):
        raise ValueError("vstudio: Dataset: %s must be a pair of integers, got %r" % (what, v)) from None
    return _int(a, 0, 2 ** 31 - 1, what), _int(b, 0, 2 ** 31 - 1, what)


class Dataset:
    """The frames of many videos and frame folders in batches, decoded by C threads.

    Dataset(paths, batch=16, workers=None, size=None, crop=None, gray=False, every=1,
            frames=None, shard=None, layout='nhwc', dtype='uint8', on_error='raise',
            sort='natural', lanes=8, resize='stretch', shuffle=None, clip=None)
      paths     videos and folders of PNG/JPEG frames (one path or a list); an entry
                (path, (A, B)) takes frames A..B-1 of that source only
      batch     frames per batch (only the last batch is short)
      workers   decoding threads (None: one per core); changes the speed, never the batches
      size      (width, height) or one int for a square: resize after the crop (an area
                average when shrinking, bicubic when enlarging; a video in its one
                conversion from YUV)
      crop      (x, y, w, h) in source pixels, before resizing
      gray      True: one channel, BT.601 luma
      every     keep every N-th frame of each source's range
      frames    (A, B): frames A..B-1 of every source
      shard     (i, n), 0 <= i < n: this process's contiguous n-th of all selected
                frames (sources as given, then frame index): n processes see each frame once
      layout    'nhwc' (N, H, W, C) or 'nchw' (N, C, H, W)
      dtype     'uint8' (0..255) or 'float32' (scaled to [0, 1])
      on_error  'raise' (vstudio.Error naming file and frame, after the frames before it)
                or 'skip' (skip the bad image or the rest of the bad video; listed in
                ds.skipped and warned about at the end)
      sort      frame order in folders: 'natural' (f2 before f10), 'name' or a regex
                with one capture group for the frame number
      lanes     sources decoded side by side (they fix the order; 8 unless set)
      resize    how size takes another aspect ratio: 'stretch', 'fit' (inside, black
                bars) or 'fill' (covering, the centre kept), as `vstudio convert --resize`
      shuffle   a seed (int >= 0): the sources in a seeded order (the same as Lua's for
                that seed), which shards and lanes then follow; None: as given;
                dict(seed=S, chunk=N): also every source cut into chunks of N frames
                (clips with clip) and all the chunks in the seed's order
      clip      samples of T frames instead of frames: T, or dict(length=T, stride=S,
                step=k): frames s, s + k, ..., s + (T-1)k of a source, the starts s S apart
                (default T * k), counted in the frames `every` keeps; frames is then
                (N, T, H, W, C) or (N, T, C, H, W),
                indices and files (N, T), len(ds) counts clips; no on_error='skip'

    len(ds) is the number of frames a full iteration yields (from the probe cache and
    folder listings, nothing decoded). Iterating yields Batch objects; the order is a
    function of the options only, the same on every run and machine. Each batch's
    frames array is its own (the C workers write the frames straight into it) and
    stays valid as long as the caller keeps it.
    """

    def __init__(self, paths, batch=16, workers=None, size=None, crop=None, gray=False, every=1,
                 frames=None, shard=None, layout="nhwc", dtype="uint8", on_error="raise",
                 sort="natural", lanes=8, resize="stretch", shuffle=None, clip=None):
        if isinstance(paths, (str, bytes, os.PathLike)):
            paths = [paths]
        paths = list(paths)
        # an entry is a path or (path, (A, B)): that source's own frames A..B-1
        ranges = [(-1, -1)] * len(paths)
        for k, p in enumerate(paths):
            if isinstance(p, tuple):
                if len(p) != 2:
                    raise ValueError("vstudio: Dataset: paths[%d] must be a path or (path, (A, B)), got %r" % (k, p))
                a, b = _pair(p[1], "paths[%d] frames" % k)
                if b <= a:
                    raise ValueError("vstudio: Dataset: paths[%d] frames (%d, %d): need A < B" % (k, a, b))
                ranges[k] = (a, b)
        paths = [path_arg(p[0] if isinstance(p, tuple) else p, "Dataset") for p in paths]
        if not paths:
            raise ValueError("vstudio: Dataset: paths must be a non-empty list of videos and frame folders")
        chunk = 0
        if isinstance(shuffle, dict):
            if set(shuffle) - {"seed", "chunk"} or "seed" not in shuffle:
                raise ValueError("vstudio: Dataset: shuffle must be a seed or dict(seed=S, chunk=N), got %r"
                                 % (shuffle,))
            chunk = _int(shuffle.get("chunk", 0), 0, 2 ** 62, "shuffle chunk")
            shuffle = shuffle["seed"]
        seed = None if shuffle is None else _int(shuffle, 0, 2 ** 53, "shuffle")
        if seed is not None:
            order = ffi.new("int32_t[]", len(paths))
            lib.vs_dataset_shuffle(len(paths), seed, order)
            paths = [paths[order[k]] for k in range(len(paths))]
            ranges = [ranges[order[k]] for k in range(len(ranges))]
        if layout not in ("nhwc", "nchw"):
            raise ValueError("vstudio: Dataset: layout must be 'nhwc' or 'nchw', got %r" % (layout,))
        if dtype not in ("uint8", "float32", np.uint8, np.float32):
            raise ValueError("vstudio: Dataset: dtype must be 'uint8' or 'float32', got %r" % (dtype,))
        if on_error not in ("raise", "skip"):
            raise ValueError("vstudio: Dataset: on_error must be 'raise' or 'skip', got %r" % (on_error,))
        if not isinstance(sort, str):
            raise TypeError("vstudio: Dataset: sort must be a str, got %r" % (sort,))
        o = ffi.new("vs_dataset_options *")
        lib.vs_dataset_options_init(o)
        o.batch = _int(batch, 1, 65536, "batch")
        if workers is not None:
            o.workers = _int(workers, 1, MAX_WORKERS, "workers")
        o.lanes = _int(lanes, 1, MAX_WORKERS, "lanes")
        modes = {"stretch": lib.VS_DATASET_STRETCH, "fit": lib.VS_DATASET_FIT, "fill": lib.VS_DATASET_FILL}
        if resize not in modes:
            raise ValueError("vstudio: Dataset: resize must be 'stretch', 'fit' or 'fill', got %r" % (resize,))
        o.resize = modes[resize]
        if clip is not None:
            c = {"length": clip} if isinstance(clip, (int, np.integer)) else dict(clip)
            unknown = set(c) - {"length", "stride", "step"}
            if unknown or "length" not in c:
                raise ValueError("vstudio: Dataset: clip must be T or dict(length=T, stride=S, step=k), got %r"
                                 % (clip,))
            o.clip_length = _int(c["length"], 1, 4096, "clip length")
            o.clip_step = _int(c.get("step", 1), 1, 2 ** 31 - 1, "clip step")
            o.clip_stride = _int(c.get("stride", o.clip_length * o.clip_step), 1, 2 ** 31 - 1, "clip stride")
        self.clip = max(o.clip_length, 1)
        if size is not None:
            o.width, o.height = _pair(size, "size")
            if o.width < 1 or o.height < 1:
                raise ValueError("vstudio: Dataset: size must be positive, got %r" % (size,))
        if crop is not None:
            try:
                x, y, w, h = crop
            except (TypeError, ValueError):
                raise ValueError("vstudio: Dataset: crop must be (x, y, w, h), got %r" % (crop,)) from None
            o.crop_x, o.crop_y = _int(x, 0, 32768, "crop x"), _int(y, 0, 32768, "crop y")
            o.crop_w, o.crop_h = _int(w, 1, 32768, "crop w"), _int(h, 1, 32768, "crop h")
        o.gray = 1 if gray else 0
        o.every = _int(every, 1, 2 ** 31 - 1, "every")
        if frames is not None:
            a, b = _pair(frames, "frames")
            if b <= a:
                raise ValueError("vstudio: Dataset: frames (%d, %d): need 0 <= A < B (frames A..B-1)" % (a, b))
            o.first, o.end = a, b
        if shard is not None:
            i, n = _pair(shard, "shard")
            if not 0 <= i < n:
                raise ValueError("vstudio: Dataset: shard (%d, %d): need 0 <= i < n" % (i, n))
            o.shard_index, o.shard_count = i, n
        self._sort = ffi.new("char[]", sort.encode())
        o.sort = self._sort
        o.skip_errors = 1 if on_error == "skip" else 0
        if chunk:
            o.shuffle_chunk, o.shuffle_seed = chunk, seed
        missing = [p for p in paths if not os.path.exists(p)]
        if missing:
            raise FileNotFoundError(2, "vstudio: Dataset: %d of %d paths not found: %s"
                                    % (len(missing), len(paths), ", ".join(missing)), missing[0])
        h = lib.vs_dataset_new(o)
        if h == ffi.NULL:
            raise ValueError("vstudio: Dataset: " + last_error())
        self._h = ffi.gc(h, lib.vs_dataset_free)
        self.batch = o.batch
        self.workers = o.workers
        self.layout = layout
        self.dtype = np.dtype(dtype)
        self.channels = 1 if gray else 3
        self.skipped = []
        if len(paths) > 1:
            c_paths = [ffi.new("char[]", p.encode()) for p in paths]
            lib.vs_dataset_prefetch(ffi.new("const char *[]", c_paths), len(paths), o.workers)
        self.paths = []  # the sources, in add order
        for p, (a, b) in zip(paths, ranges):
            if lib.vs_dataset_add(self._h, p.encode(), a, b) < 0:
                if not o.skip_errors:
                    raise Error("vstudio: Dataset: " + last_error())
                self.skipped.append(last_error())
                continue
            self.paths.append(p)
        self._probe_skipped = list(self.skipped)
        self._run = 0

    def __len__(self):
        return int(lib.vs_dataset_count(self._h))

    def __repr__(self):
        return "vstudio.Dataset(%d sources, %d frames, batch %d)" % (len(self.paths), len(self), self.batch)

    def _file(self, source, index):
        return ffi.string(lib.vs_dataset_file(self._h, source, index)).decode()

    def _report(self):
        skipped = list(self._probe_skipped)
        for k in range(lib.vs_dataset_skipped(self._h)):
            skipped.append(ffi.string(lib.vs_dataset_skipped_message(self._h, k)).decode())
        self.skipped = skipped
        if skipped:
            warnings.warn("vstudio: Dataset: skipped %d bad sources or images:\n  %s"
                          % (len(skipped), "\n  ".join(skipped)), RuntimeWarning, stacklevel=3)

    def __iter__(self):
        """Batches from the start; a new iteration ends an older one."""
        t = self.clip
        n = self.batch * t
        array = ffi.new("void *[1]")
        width, height = ffi.new("int[1]"), ffi.new("int[1]")
        sources = ffi.new("int32_t[]", n)
        indices = ffi.new("int64_t[]", n)
        layout = lib.VS_NPY_NCHW if self.layout == "nchw" else lib.VS_NPY_NHWC
        dtype = lib.VS_NPY_FLOAT32 if self.dtype == np.float32 else lib.VS_NPY_UINT8
        if lib.vs_dataset_start_arrays(self._h, 0, layout, dtype, self.channels) < 0:
            raise Error("vstudio: Dataset: " + last_error())
        self._run += 1
        run = self._run
        try:
            while True:
                if self._run != run:
                    raise Error("vstudio: Dataset: this iteration was ended by a newer one")
                # waits in slices with the GIL released: a Ctrl-C is raised between them
                got = lib.vs_dataset_next_array(self._h, 100, array, width, height, sources, indices)
                if got == lib.VS_DATASET_WAIT:
                    continue
                if got < 0:
                    raise Error("vstudio: Dataset: " + last_error())
                if got == 0:
                    self._report()
                    return
                h, w = height[0], width[0]
                shape = (got, self.channels, h, w) if layout == lib.VS_NPY_NCHW else (got, h, w, self.channels)
                # the workers wrote the frames into this array; it lives as long as the ndarray
                data = ffi.gc(array[0], lib.vs_dataset_array_free)
                nbytes = got * h * w * self.channels * self.dtype.itemsize
                out = np.frombuffer(ffi.buffer(data, nbytes), self.dtype).reshape(shape)
                idx = np.frombuffer(ffi.buffer(indices, 8 * got), np.int64).copy()
                src = [sources[k] for k in range(got)]
                files = [self._file(s, int(i)) for s, i in zip(src, idx)]
                paths = [self.paths[s] for s in src[::t]]
                if t > 1:
                    out = out.reshape((got // t, t) + shape[1:])
                    idx = idx.reshape(got // t, t)
                    files = [files[k:k + t] for k in range(0, got, t)]
                yield Batch(out, paths, idx, files)
        finally:
            if self._run == run:
                lib.vs_dataset_stop(self._h)  # joins the workers: a break or Ctrl-C leaves none running
