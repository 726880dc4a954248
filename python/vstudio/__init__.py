"""vstudio from Python: numpy frames in, frame-exact frames and batches out.

    import vstudio
    vstudio.probe(path) -> dict                  # exact frame count, the CLI's probe cache
    v = vstudio.Video(path); len(v); v[i]; v.get([i, j, k])     # (H, W, 3) uint8 RGB
    with vstudio.Writer('out.mp4', fps=30, crf=18) as w: w.write(frame)
    for b in vstudio.Dataset(paths, batch=16): b.frames, b.paths, b.indices
    import vstudio.torch                         # IterableDataset for torch's DataLoader

A thin face over libvstudio (the C engine behind the vstudio CLI and its Lua
API), bound with cffi in ABI mode over the header the library embeds: no
compiled extension. C calls release the GIL. Errors are vstudio.Error (a
RuntimeError) carrying the C side's message, or ValueError, TypeError,
IndexError and FileNotFoundError where Python code expects those.
"""
from ._lib import Error, ffi, lib
from .dataset import Batch, Dataset
from .video import Video, probe
from .writer import Writer

__version__ = ffi.string(lib.vs_version()).decode()
__all__ = ["Batch", "Dataset", "Error", "Video", "Writer", "probe"]


def __getattr__(name):
    # vstudio.torch is imported on first use: torch is optional and slow to import.
    if name == "torch":
        import importlib
        return importlib.import_module(".torch", __name__)
    raise AttributeError("module 'vstudio' has no attribute %r" % (name,))
