# make-bench-frames.py KIND SRC OUT: re-saves SRC's PNGs (any 8-bit RGB/RGBA) into OUT.
#   adaptive  Pillow's default save (adaptive row filters, zlib level 6)
#   paeth     every row filtered Paeth, zlib level 6, IDAT in 64 KiB chunks
#             (as Pillow splits them): PIL cannot force one filter, so
#             numpy filters the whole image at once (Paeth predicts from the
#             unfiltered neighbours, so rows do not depend on each other).
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def paeth_png(pixels):
    h, w, bpp = pixels.shape
    a = pixels.reshape(h, w * bpp).astype(np.int16)
    left = np.zeros_like(a)
    left[:, bpp:] = a[:, :-bpp]
    up = np.zeros_like(a)
    up[1:] = a[:-1]
    ul = np.zeros_like(a)
    ul[1:, bpp:] = a[:-1, :-bpp]
    p = left + up - ul
    pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - ul)
    pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, ul))
    rows = ((a - pred) & 0xFF).astype(np.uint8)
    raw = np.concatenate([np.full((h, 1), 4, np.uint8), rows], axis=1).tobytes()
    z = zlib.compress(raw, 6)
    color = 6 if bpp == 4 else 2
    out = [b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0))]
    out += [chunk(b"IDAT", z[i:i + 65536]) for i in range(0, len(z), 65536)]
    out.append(chunk(b"IEND", b""))
    return b"".join(out)


def main():
    kind, src, out = sys.argv[1:4]
    for name in sorted(n for n in os.listdir(src) if n.endswith(".png")):
        img = Image.open(os.path.join(src, name))
        img = img.convert("RGBA" if img.mode in ("RGBA", "LA", "P") and "A" in img.getbands() else "RGB")
        dest = os.path.join(out, name)
        if kind == "adaptive":
            img.save(dest)
        elif kind == "paeth":
            with open(dest, "wb") as f:
                f.write(paeth_png(np.asarray(img)))
        else:
            sys.exit("make-bench-frames.py: unknown kind " + kind)


if __name__ == "__main__":
    main()
