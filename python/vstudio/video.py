"""vstudio.probe and vstudio.Video: metadata and frame-exact frames as numpy arrays."""
import numpy as np

from ._lib import ffi, lib, check, fail, path_arg, require_exists

# What a frame becomes: channels kept from the decoder's RGBA.
FORMATS = {"rgb": 3, "rgba": 4, "gray": 1}


def _info_dict(info):
    return {
        "width": info.width, "height": info.height,
        "fps": info.fps_num / info.fps_den, "fps_num": info.fps_num, "fps_den": info.fps_den,
        "frames": int(info.frames), "duration": info.duration,
        "codec": ffi.string(info.codec).decode(), "pix_fmt": ffi.string(info.pix_fmt).decode(),
        "container": ffi.string(info.container).decode(), "bit_rate": int(info.bit_rate),
        "vfr": bool(info.vfr),
        "audio": _audio_dict(info),
    }


def _audio_dict(info):
    """The first audio stream's fields, None when the file has no sound."""
    if info.audio_streams == 0:
        return None
    return {
        "codec": ffi.string(info.audio_codec).decode(), "rate": int(info.audio_rate),
        "channels": int(info.audio_channels), "duration": float(info.audio_duration),
        "samples": int(info.audio_samples) if info.audio_samples >= 0 else None,
        "streams": int(info.audio_streams),
    }


def probe(path, cache=True):
    """Metadata of a video file as a dict: width, height, fps (float), fps_num,
    fps_den, frames (exact, as ffprobe -count_frames), duration (s), codec,
    pix_fmt, container, bit_rate, vfr, and audio: None without sound, else a dict
    of the first audio stream's codec, rate, channels, duration (s), samples
    (exact decoded count, None when not cheap to know) and streams (how many).
    From the same SQLite probe cache as the CLI ($XDG_CACHE_HOME/vstudio/probe.db)
    unless cache=False.

    Raises FileNotFoundError for a missing path, vstudio.Error for a file that
    is not a readable video."""
    path = path_arg(path, "probe")
    require_exists(path, "probe")
    info = ffi.new("vs_probe_info *")
    check(lib.vs_probe(path.encode(), 1 if cache else 0, info), "probe")
    return _info_dict(info)


def rgba_frame(height, width):
    """A (H, W, 4) uint8 array and a vs_frame over its memory: C writes the
    pixels straight into the array."""
    array = np.empty((height, width, 4), np.uint8)
    frame = ffi.new("vs_frame *")
    frame.width, frame.height, frame.stride = width, height, width * 4
    frame.data = ffi.cast("uint8_t *", array.ctypes.data)
    return array, frame


def channels_of(rgba, channels, out=None):
    """(.., H, W, 4) RGBA to the requested channels (4: rgba itself)."""
    if channels == 4:
        if out is not None:
            out[...] = rgba
            return out
        return rgba
    if out is None:
        out = np.empty(rgba.shape[:-1] + (channels,), np.uint8)
    if channels == 3:
        out[...] = rgba[..., :3]
    else:  # BT.601 luma, as the dataset's gray
        r, g, b = (rgba[..., k].astype(np.uint16) for k in range(3))
        out[..., 0] = (77 * r + 150 * g + 29 * b + 128) >> 8
    return out


class Video:
    """A video file, frame by frame, frame-exact (like vs.video():frame(i)).

    Video(path, rgba=False, format=None, threads=0)
      path     a video file (str or os.PathLike)
      rgba     True: 4 channels (R, G, B, alpha 255); same as format='rgba'
      format   'rgb' (default, (H, W, 3)), 'rgba' (H, W, 4) or 'gray' (H, W, 1, BT.601 luma)
      threads  libavcodec decoding threads; 0: automatic

    len(v) is the exact frame count; v[i] (negative i counts from the end,
    IndexError past it) is a uint8 array; v.get(indices) returns (N, H, W, C)
    in the order asked, decoding in ascending order so a GOP is decoded once;
    iterating decodes forward without seeking. v.width, v.height, v.fps,
    v.fps_num, v.fps_den, v.frames, v.duration, v.codec, v.pix_fmt, v.info.
    'rgba' frames are decoded straight into the returned array (no copy);
    'rgb' and 'gray' take one copy out of the decoder's RGBA.
    Use it as a context manager or call close() to free the decoder now.
    """

    def __init__(self, path, rgba=False, format=None, threads=0):
        path = path_arg(path, "Video")
        fmt = format or ("rgba" if rgba else "rgb")
        if fmt not in FORMATS:
            raise ValueError("vstudio: Video: format must be 'rgb', 'rgba' or 'gray', got %r" % (fmt,))
        if not isinstance(threads, int) or not 0 <= threads <= 256:
            raise ValueError("vstudio: Video: threads must be an integer 0..256, got %r" % (threads,))
        require_exists(path, "Video")
        self.path = path
        self.format = fmt
        self.channels = FORMATS[fmt]
        dec = lib.vs_decoder_open(path.encode(), threads)
        if dec == ffi.NULL:
            fail("Video")
        self._dec = ffi.gc(dec, lib.vs_decoder_close)
        info = ffi.new("vs_probe_info *")
        check(lib.vs_decoder_info(self._dec, info), "Video")
        self.info = _info_dict(info)
        for k in ("width", "height", "fps", "fps_num", "fps_den", "frames", "duration", "codec", "pix_fmt"):
            setattr(self, k, self.info[k])
        self.shape = (self.height, self.width, self.channels)

    def __len__(self):
        return self.frames

    def __repr__(self):
        return "vstudio.Video(%r: %dx%d, %d frames, %g fps, %s)" % (
            self.path, self.width, self.height, self.frames, self.fps, self.codec)

    def _index(self, i):
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise TypeError("vstudio: Video: frame index must be an integer, got %r" % (i,))
        k = int(i) + self.frames if i < 0 else int(i)
        if not 0 <= k < self.frames:
            raise IndexError("vstudio: Video: frame %d is out of range (%s has %d frames)" % (
                int(i), self.path, self.frames))
        return k

    def _decode(self, k, rgba, frame, out=None):
        if self._dec is None:
            raise ValueError("vstudio: Video: %s is closed" % self.path)
        check(lib.vs_decoder_frame(self._dec, k, frame), "Video")
        return channels_of(rgba, self.channels, out)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self.get(range(*i.indices(self.frames)))
        rgba, frame = rgba_frame(self.height, self.width)
        return self._decode(self._index(i), rgba, frame)

    def get(self, indices):
        """Frames at these indices as one (N, H, W, C) array, in the order given."""
        if self._dec is None:
            raise ValueError("vstudio: Video: %s is closed" % self.path)
        ks = [self._index(i) for i in indices]
        out = np.empty((len(ks),) + self.shape, np.uint8)
        if self.channels == 4:
            frame = ffi.new("vs_frame *")
            frame.width, frame.height, frame.stride = self.width, self.height, self.width * 4
        else:
            rgba, frame = rgba_frame(self.height, self.width)
        for j in sorted(range(len(ks)), key=ks.__getitem__):
            if self.channels == 4:  # straight into the output
                frame.data = ffi.cast("uint8_t *", out[j].ctypes.data)
                check(lib.vs_decoder_frame(self._dec, ks[j], frame), "Video")
            else:
                self._decode(ks[j], rgba, frame, out[j])
        return out

    def __iter__(self):
        for k in range(self.frames):
            rgba, frame = rgba_frame(self.height, self.width)
            yield self._decode(k, rgba, frame)

    def close(self):
        if self._dec is not None:
            ffi.release(self._dec)  # runs vs_decoder_close now
            self._dec = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
