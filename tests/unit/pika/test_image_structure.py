"""An image's structure walked before Pillow parses it: whole or cut short, and bounded."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from bot.pika import image_structure
from bot.pika.media_probe import MediaRefused, image_facts


def saved(form: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(out, form)
    return out.getvalue()


def png_of_empty_chunks(count: int) -> bytes:
    """A small PNG with `count` empty ancillary chunks before its pixels, each checksum right."""
    png = saved("PNG")
    chunk = struct.pack(">I", 0) + b"zzZz" + struct.pack(">I", zlib.crc32(b"zzZz"))
    header_end = len(image_structure.PNG_SIGNATURE) + 25  # IHDR: 13 bytes, length, type, CRC
    return png[:header_end] + chunk * count + png[header_end:]


def jpeg_of_empty_comments(count: int) -> bytes:
    """A small JPEG with `count` empty comment segments after its start."""
    jpeg = saved("JPEG")
    return jpeg[:2] + b"\xff\xfe\x00\x02" * count + jpeg[2:]


def gif_of_empty_comments(count: int) -> bytes:
    """A small GIF with `count` empty comment extensions before its picture."""
    gif = saved("GIF")
    image = gif.index(b",")
    return gif[:image] + b"!\xfe\x00" * count + gif[image:]


@pytest.mark.parametrize(
    ("made", "cap"),
    [
        (png_of_empty_chunks, image_structure.MAX_PARTS),
        (jpeg_of_empty_comments, image_structure.MAX_PARTS),
        (gif_of_empty_comments, image_structure.MAX_GIF_PARTS),
    ],
)
def test_an_image_of_countless_empty_parts_is_refused_before_pillow_walks_it(
    made: object, cap: int, tmp_path: Path
) -> None:
    # Pillow walks parts one at a time in Python, holding the GIL, in a thread no time cap
    # stops: 5 million empty PNG chunks (63 MB) took 97 s. Past MAX_PARTS, it is refused.
    assert callable(made)
    within, past = made(1000), made(cap + 1000)
    assert image_facts(within).width == 64
    on_disk = tmp_path / "past"
    on_disk.write_bytes(past)
    for hostile in (past, on_disk):
        with pytest.raises(MediaRefused) as refused:
            image_facts(hostile)
        assert refused.value.problem == "not_image"


def test_other_files_are_left_to_their_own_parser(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert image_structure.whole(b"BM not one of ours") and image_structure.whole(empty)
    gif = saved("GIF")
    assert image_structure.whole(gif) and image_structure.whole(gif[:-1])  # trailer left out
    assert image_structure.whole(gif[:-1] + b"\0\0" + gif[-1:])  # padding, as readers skip
    jpeg = saved("JPEG")
    after_app0 = 4 + int.from_bytes(jpeg[4:6], "big")
    assert image_structure.whole(jpeg[:after_app0] + b"\0junk" + jpeg[after_app0:])
    assert image_structure.whole(saved("PNG")) and image_structure.whole(saved("JPEG"))
    assert not image_structure.whole(saved("PNG")[:-1])  # the last checksum cut
