"""vstudio.Writer: numpy frames (or anything with __array__) to a video file."""
import fractions
import queue
import threading

import numpy as np

from ._lib import Error, ffi, lib, last_error, path_arg

# Frames converted ahead of the encoding thread: memory stays flat.
_DEPTH = 3
_STOP = object()


def _frames_of(frame, what):
    """frame as an (N, H, W, C) array, C 3 or 4: uint8, or float32 RGB (which C
    rounds as it converts); other floats in [0, 1] are rounded here."""
    a = np.asarray(frame)
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[-1] not in (3, 4) or a.shape[1] < 1 or a.shape[2] < 1:
        raise ValueError("vstudio: %s: a frame is (H, W, 3|4) and a batch (N, H, W, 3|4), got shape %s"
                         % (what, a.shape))
    if a.dtype == np.uint8 or (a.dtype == np.float32 and a.shape[-1] == 3):
        return a
    if np.issubdtype(a.dtype, np.floating):
        # as the numpy-to-ffmpeg posts' as_uint8: [0, 1] to 0..255, rounded in
        # the input's own precision (a float32 frame is not widened to float64)
        return np.rint(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)
    raise ValueError("vstudio: %s: frames must be uint8 (0..255) or float in [0, 1], got dtype %s"
                    % (what, a.dtype))


def _rate(fps, path):
    if isinstance(fps, tuple) and len(fps) == 2:
        fps = "%d/%d" % fps
    elif isinstance(fps, fractions.Fraction):
        fps = "%d/%d" % (fps.numerator, fps.denominator)
    num, den = ffi.new("int *"), ffi.new("int *")
    if lib.vs_parse_rational(str(fps).encode(), num, den) < 0:
        raise ValueError("vstudio: Writer: %s: fps %r: %s" % (path, fps, last_error()))
    return num[0], den[0]


def _encode(enc, todo, failure):
    """The encoding thread: encodes the converted pictures in order until _STOP."""
    while True:
        pic = todo.get()
        if pic is _STOP:
            return
        if failure:
            lib.vs_picture_release(pic)
        elif lib.vs_encoder_push_picture(enc, pic) < 0:  # returns pic to the pool, also on error
            failure.append(last_error())  # per thread: read it here


def _convert(pic, f):
    """One (H, W, C) frame into the encoder's picture, read where it lies
    (rows at any stride; pixels must be packed within a row)."""
    if f.strides[2] != f.itemsize or f.strides[1] != f.itemsize * f.shape[2] or f.strides[0] <= 0:
        f = np.ascontiguousarray(f)
    data, stride = f.ctypes.data, f.strides[0]
    if f.shape[2] == 4:
        view = ffi.new("vs_frame *", {"width": f.shape[1], "height": f.shape[0], "stride": stride,
                                      "data": ffi.cast("uint8_t *", data)})
        return lib.vs_picture_from_rgba(pic, view)
    if f.dtype == np.float32:
        return lib.vs_picture_from_rgb_float(pic, ffi.cast("float *", data), stride)
    return lib.vs_picture_from_rgb(pic, ffi.cast("uint8_t *", data), stride)


class Writer:
    """Writes frames to a video with vstudio's encoder (the C side of vs.write).

    Writer(path, fps=30, crf=18, preset=None, codec=None, pix_fmt=None, title=None,
           comment=None, artist=None, format=None, bitrate=None, gop=0, threads=0,
           options=None)
      path     output file; its extension picks the container (mp4, mkv, webm, mov,
               avi, y4m) unless format= says; a folder path writes a PNG sequence
      fps      frames per second: 30, 29.97, '30000/1001', (30000, 1001) or a Fraction
      crf      quality 0..63 (0 lossless; 18 is x264's near-transparent default)
      preset   encoder speed ('medium' for x264 unless given: 'veryfast', 'slow', ...)
      codec    encoder or format name ('libx264' default, 'libx265', 'libvpx-vp9', 'ffv1', ...)
      pix_fmt  stream pixel format ('yuv420p' default; 'yuv444p', 'rgb24' for lossless RGB, ...)
      title, comment, artist   metadata
      format   container name when the extension does not say
      bitrate  bits/s (rate control by bitrate instead of crf)
      gop      keyframe interval (0: the codec's)
      threads  encoder threads (0: the codec decides)
      options  'key=value:key=value' for the codec

    w.write(x) takes one frame (H, W, 3|4) or a batch (N, H, W, 3|4), uint8 or float
    in [0, 1] (rounded in its own precision), or anything numpy.asarray takes (a CPU torch tensor). The
    first frame fixes H x W; another size is a ValueError naming both. write() converts
    each frame to the stream's YUV in C straight from the array's memory (one pass, float32
    rounded as it goes, the GIL released), so the array is the caller's again when write
    returns; encoding runs on an encoding thread while the caller makes the next frame.
    The file is written to a
    hidden temporary beside PATH and renamed on close(); an exception inside `with`, abort(), or a
    Writer dropped unclosed leaves no file. close() returns the frame count.
    """

    def __init__(self, path, fps=30, crf=18, preset=None, codec=None, pix_fmt=None, title=None,
                 comment=None, artist=None, format=None, bitrate=None, gop=0, threads=0, options=None):
        self.path = path_arg(path, "Writer")
        o = ffi.new("vs_encoder_options *")
        lib.vs_encoder_options_init(o)
        o.fps_num, o.fps_den = _rate(fps, self.path)
        if not isinstance(crf, int) or not 0 <= crf <= 63:
            raise ValueError("vstudio: Writer: %s: crf must be an integer 0..63, got %r" % (self.path, crf))
        o.crf = crf
        for name, v in (("gop", gop), ("threads", threads)):
            if not isinstance(v, int) or v < 0:
                raise ValueError("vstudio: Writer: %s: %s must be a non-negative integer, got %r"
                                 % (self.path, name, v))
        o.gop, o.threads = gop, threads
        if bitrate is not None:
            if not isinstance(bitrate, (int, float)) or not bitrate > 0:
                raise ValueError("vstudio: Writer: %s: bitrate must be bits/s > 0, got %r" % (self.path, bitrate))
            o.bit_rate = int(bitrate)
        self._keep = []  # the strings the options point at
        for name, v in (("preset", preset), ("codec", codec), ("pix_fmt", pix_fmt), ("title", title),
                        ("comment", comment), ("artist", artist), ("format", format),
                        ("codec_options", options)):
            if v is not None:
                if not isinstance(v, str):
                    raise TypeError("vstudio: Writer: %s: %s must be a str, got %r" % (self.path, name, v))
                s = ffi.new("char[]", v.encode())
                self._keep.append(s)
                setattr(o, name, s)
        self._options = o
        self._enc = None
        self._size = None
        self._thread = None
        self._queue = None
        self._failure = []  # the encoding thread's message, if a push failed
        self.frames = 0
        self.closed = False

    def __repr__(self):
        return "vstudio.Writer(%r, %d frames%s)" % (self.path, self.frames, ", closed" if self.closed else "")

    def _open(self, h, w):
        enc = lib.vs_encoder_open(self.path.encode(), w, h, self._options)
        if enc == ffi.NULL:
            self.closed = True
            raise Error("vstudio: Writer: " + last_error())
        self._enc = enc
        self._size = (h, w)
        self._queue = queue.Queue(_DEPTH)  # pictures in flight: the encoder's pool stays this small
        # The thread holds no reference to self, so a dropped Writer is collected (and aborted).
        self._thread = threading.Thread(target=_encode, args=(enc, self._queue, self._failure),
                                        name="vstudio.Writer", daemon=True)
        self._thread.start()

    @property
    def _error(self):
        return self._failure[0] if self._failure else None

    def _raise_failed(self):
        msg = self._error
        self.abort()
        raise Error("vstudio: Writer: " + msg)

    def write(self, frame):
        """Appends one frame (H, W, 3|4) or a batch (N, H, W, 3|4); returns self."""
        if self.closed:
            raise ValueError("vstudio: Writer: %s: write after close" % self.path)
        frames = _frames_of(frame, "Writer: %s: frame %d" % (self.path, self.frames))
        h, w = frames.shape[1:3]
        if self._enc is None:
            self._open(h, w)
        elif (h, w) != self._size:
            raise ValueError("vstudio: Writer: %s: frame %d is %dx%d, the first was %dx%d (W x H)"
                             % (self.path, self.frames, w, h, self._size[1], self._size[0]))
        for k in range(frames.shape[0]):
            if self._error is not None:
                self._raise_failed()
            pic = lib.vs_encoder_picture_get(self._enc)
            if pic == ffi.NULL or _convert(pic, frames[k]) < 0:
                msg = last_error()
                lib.vs_picture_release(pic)
                self.abort()
                raise Error("vstudio: Writer: %s: frame %d: %s" % (self.path, self.frames, msg))
            self._queue.put(pic)
            self.frames += 1
        return self

    def _join(self):
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None

    def close(self):
        """Encodes the rest, finishes the file and renames its temporary to PATH."""
        if self.closed:
            return self.frames
        if self._enc is None:
            self.closed = True
            raise Error("vstudio: Writer: %s: no frames were written; nothing written" % self.path)
        self._join()
        if self._error is not None:
            self._raise_failed()
        enc, self._enc = self._enc, None
        self.closed = True
        if lib.vs_encoder_close(enc) < 0:
            raise Error("vstudio: Writer: " + last_error())
        return self.frames

    def abort(self):
        """Gives up: stops encoding and removes the temporary; nothing is left."""
        if self._thread is not None:
            if not self._failure:
                self._failure.append("aborted")  # the thread pushes nothing more
            while True:  # drop what waits, so the thread reaches the stop at once
                try:
                    lib.vs_picture_release(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._join()
        if self._enc is not None:
            lib.vs_encoder_abort(self._enc)
            self._enc = None
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()
        else:
            self.close()

    def __del__(self):
        if getattr(self, "_enc", None) is not None:
            self.abort()
