"""An image file's structure, walked before any image library parses it.

Pillow reads a PNG's chunks, a JPEG's segments and a GIF's blocks one at a time in Python,
holding the GIL: a 63 MB PNG of five million empty chunks took 97 s to open and verify, a 17
MB JPEG of four million empty comments 30 s, a 3 MB GIF of a million empty extensions 3 s, in
a thread that no time cap can stop. Here the same structure is walked with a cap on its parts
(`MAX_PARTS`, `MAX_GIF_PARTS`, far above any real file's), so such a file is refused at once.
The walk also tells a file cut short (an interrupted upload) from a whole one: a PNG reaches
IEND with every chunk's checksum right, a JPEG's markers lead to its end (EOI), a GIF's
blocks to its trailer. Nothing is decoded.
"""

from __future__ import annotations

import mmap
import re
import zlib
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_START = b"\xff\xd8"
GIF_SIGNATURES = (b"GIF87a", b"GIF89a")
MAX_PARTS = 65_536  # a 64 MiB PNG in 8 KiB chunks has 8,192; a JPEG has tens of segments
# A GIF's data comes in sub-blocks of up to 255 bytes: 64 MiB of them are 263,000 (plus a few
# for each frame).
MAX_GIF_PARTS = 1 << 19
# In a JPEG's compressed data, 0xFF is followed by 0x00 (a stuffed byte) or a restart marker
# (0xD0-0xD7); followed by any other byte but 0xFF (a fill byte), it starts the next marker.
NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def whole(data: bytes | Path) -> bool:
    """Whether a PNG, JPEG or GIF is whole and within its cap of parts; True for any other file
    (its own parser checks it). A file is read in place (mmap), never copied into memory."""
    if isinstance(data, bytes):
        return _walk(memoryview(data))
    if data.stat().st_size == 0:
        return True  # nothing to walk: the image library refuses it
    with (
        data.open("rb") as file,
        mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped,
        memoryview(mapped) as view,
    ):
        return _walk(view)


def _walk(view: memoryview) -> bool:
    if bytes(view[:8]) == PNG_SIGNATURE:
        return _png(view)
    if bytes(view[:2]) == JPEG_START:
        return _jpeg(view)
    if bytes(view[:6]) in GIF_SIGNATURES:
        return _gif(view)
    return True


def _png(view: memoryview) -> bool:
    at, size = len(PNG_SIGNATURE), len(view)
    for _ in range(MAX_PARTS):
        if at + 12 > size:
            return False
        length = int.from_bytes(view[at : at + 4], "big")
        end = at + 12 + length
        if end > size or zlib.crc32(view[at + 4 : end - 4]) != int.from_bytes(
            view[end - 4 : end], "big"
        ):
            return False
        if bytes(view[at + 4 : at + 8]) == b"IEND":
            return True
        at = end
    return False


def _jpeg(view: memoryview) -> bool:
    at, size = len(JPEG_START), len(view)
    for _ in range(MAX_PARTS):
        if at + 1 >= size:
            return False
        if view[at] != 0xFF:  # junk between segments: skipped to the next marker, as libjpeg
            found = NEXT_MARKER.search(view, at)  # and Pillow skip it
            if found is None:
                return False
            at = found.start()
            continue
        marker = view[at + 1]
        if marker == 0xFF:  # a fill byte before a marker
            at += 1
        elif marker == 0xD9:  # the end of the image: what follows (more pictures) is not ours
            return True
        elif marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            at += 2
        else:
            at += 2 + int.from_bytes(view[at + 2 : at + 4], "big")
            if marker == 0xDA:  # a scan: its compressed data runs to the next marker
                found = NEXT_MARKER.search(view, at)
                if found is None:
                    return False
                at = found.start()
    return False


def _gif(view: memoryview) -> bool:
    """Blocks (extensions, images), each a chain of sub-blocks ending with an empty one, up to
    the trailer (or the file's end, after an image: some encoders leave the trailer out)."""
    size, parts, images = len(view), 0, 0
    if size < 13:
        return False
    at = 13 + _colour_table(view[10])  # the header, the screen, its colour table
    while at < size:
        kind = view[at]
        if kind == 0x3B:  # the trailer
            return images > 0
        if kind == 0x21:  # an extension: its label, then sub-blocks
            at += 2
        elif kind == 0x2C and at + 10 <= size:  # an image: its place, its colours, LZW size
            at += 10 + _colour_table(view[at + 9]) + 1
            images += 1
        elif kind == 0x2C:
            return False
        else:  # a stray byte (a padding zero): skipped, as every reader of GIFs does
            parts += 1
            if parts > MAX_GIF_PARTS:
                return False
            at += 1
            continue
        length = -1
        while length != 0:
            parts += 1
            if at >= size or parts > MAX_GIF_PARTS:
                return False
            length = view[at]
            at += 1 + length
    return images > 0 and at == size


def _colour_table(packed: int) -> int:
    """The size of the colour table a GIF's packed field announces."""
    return 3 << ((packed & 7) + 1) if packed & 0x80 else 0
