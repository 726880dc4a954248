"""The C boundary: finds libvstudio.so and declares its public header.

The library embeds src/vstudio.h (vs_api_header), the same text
lua/vstudio/core.lua hands to LuaJIT's ffi.cdef; here it goes to cffi's
ABI mode, so the declarations are never copied by hand. cffi's parser does
not run a preprocessor, so the header's preprocessor lines (include guard,
includes) are dropped first, as core.lua does; nothing else is changed.

cffi releases the GIL around every call into the library, so a decode, an
encode or a batch wait in C lets other Python threads run.

The library is looked for, first found wins: $VSTUDIO_LIB; the source
tree's build/ (python/vstudio/ -> build/libvstudio.so, after `make`); the
installed prefix (PREFIX/lib/python3/dist-packages/vstudio/ ->
PREFIX/lib/libvstudio.so, after `make install`); the system's loader.
"""
import os
import re

import cffi

ffi = cffi.FFI()
ffi.cdef("const char *vs_api_header(void);")

_here = os.path.dirname(os.path.abspath(__file__))


def _load():
    env = os.environ.get("VSTUDIO_LIB")
    if env:
        return ffi.dlopen(env)
    tried = []
    for candidate in (
        os.path.join(_here, "..", "..", "build", "libvstudio.so"),      # source tree
        os.path.join(_here, "..", "..", "..", "libvstudio.so"),         # PREFIX/lib
    ):
        candidate = os.path.normpath(candidate)
        if os.path.exists(candidate):
            return ffi.dlopen(candidate)
        tried.append(candidate)
    try:
        return ffi.dlopen("libvstudio.so")
    except OSError:
        raise ImportError("vstudio: cannot find libvstudio.so (run make, or set VSTUDIO_LIB); tried "
                          + ", ".join(tried)) from None


lib = _load()
ffi.cdef(re.sub(r"(?m)^#.*$", "", ffi.string(lib.vs_api_header()).decode()))


class Error(RuntimeError):
    """A failure reported by libvstudio; the message is the C side's (file, frame, why)."""


Error.__module__ = "vstudio"


def last_error():
    return ffi.string(lib.vs_last_error()).decode(errors="replace")


def fail(what, exc=Error):
    """Raises exc with the library's last message, prefixed 'vstudio: <what>: '."""
    raise exc("vstudio: %s: %s" % (what, last_error()))


def check(rc, what):
    """rc from a C call: negative or NULL raises Error; otherwise returns rc."""
    if rc == ffi.NULL or (isinstance(rc, int) and rc < 0):
        fail(what)
    return rc


def path_arg(path, what):
    """A str path from str / os.PathLike; a missing path is FileNotFoundError."""
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = path.decode()
    if not isinstance(path, str) or not path:
        raise TypeError("vstudio: %s: path must be a non-empty str or os.PathLike, got %r" % (what, path))
    return path


def require_exists(path, what):
    if not os.path.exists(path):
        raise FileNotFoundError(2, "vstudio: %s: %s: no such file or folder" % (what, path), path)
