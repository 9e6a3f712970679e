"""What an MP4 declares about its samples, read from its boxes before FFmpeg opens it.

FFmpeg builds an index of every sample a file declares when it opens it, before anything can
look at the counts: a 2 KB MP4 whose tables declare ten million frames (a constant sample size
takes no room in the file) took 700 MB and 3 s to open, to be refused for its frame count
afterwards; fifty million would take the machine's memory. Here the boxes are walked (a bounded
number of them, `MAX_BOXES`) and the declared counts read: every track's index entries
(`MAX_ENTRIES`; a video track's are its frames) and the fragments' samples.
Nothing is read of the media data, nor of any table but its count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

# Boxes whose content is boxes (the others are skipped, or read for their counts).
PARENTS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"stbl", b"moof", b"traf"})
MAX_BOXES = 100_000  # a fragmented MP4 of one fragment a frame, 1,800 frames: about 10,000
MAX_ENTRIES = 100_000  # a track's samples in FFmpeg's index (24 bytes each)


@dataclass
class Declared:
    """What the boxes declare: each track's handler and sample counts, and the fragments'."""

    tracks: list[Track] = field(default_factory=list)
    fragment_samples: int = 0
    boxes: int = 0


@dataclass
class Track:
    """One track's handler (`vide`, `soun`, ...) and declared counts."""

    handler: bytes = b""
    samples: int = 0  # stsz (or stz2) sample_count
    sample_size: int = 0  # 0: each sample's size is in the table; else all have this one
    chunks: int = 0  # stco (or co64) entry_count


class Unreadable(Exception):
    """The boxes do not hold together, or are more than `MAX_BOXES`."""


def declared(path: Path) -> Declared:
    """The declared counts of an MP4's tracks; Unreadable if its boxes do not hold together."""
    found = Declared()
    with path.open("rb") as file:
        _walk(file, 0, path.stat().st_size, found, None)
    return found


def _walk(file: BinaryIO, start: int, end: int, found: Declared, track: Track | None) -> None:
    at = start
    while at + 8 <= end:
        found.boxes += 1
        if found.boxes > MAX_BOXES:
            raise Unreadable(f"more than {MAX_BOXES} boxes")
        file.seek(at)
        head = file.read(16)
        size, kind = int.from_bytes(head[:4], "big"), head[4:8]
        body = at + 8
        if size == 1:  # a 64-bit size follows
            size, body = int.from_bytes(head[8:16], "big"), at + 16
        elif size == 0:  # to the end of its parent
            size = end - at
        if size < body - at or at + size > end:
            raise Unreadable("a box past its parent")
        if kind == b"trak":
            found.tracks.append(Track())
            _walk(file, body, at + size, found, found.tracks[-1])
        elif kind in PARENTS:
            _walk(file, body, at + size, found, track)
        else:
            _counts(file, kind, body, at + size, found, track)
        at += size


def _counts(
    file: BinaryIO, kind: bytes, body: int, end: int, found: Declared, track: Track | None
) -> None:
    """Read the count a table box declares (after its version and flags); a fragment's samples
    count for the file."""
    file.seek(body)
    head = file.read(min(16, end - body))

    def word(offset: int) -> int:
        return int.from_bytes(head[offset : offset + 4], "big")

    if kind == b"trun":
        found.fragment_samples += word(4)
    elif track is None:
        return
    elif kind == b"hdlr":
        track.handler = head[8:12]
    elif kind == b"stsz":
        track.sample_size, track.samples = word(4), word(8)
    elif kind == b"stz2":
        track.samples = word(8)
    elif kind in (b"stco", b"co64"):
        track.chunks = word(4)


def problem(facts: Declared, max_frames: int) -> tuple[str, dict[str, int]] | None:
    """What makes the declared counts unusable, as a `MediaRefused` problem and its numbers."""
    for track in facts.tracks:
        # FFmpeg indexes each sample, except audio of one size: each chunk, in pieces of at
        # least 160 samples. Counts it indexes cheaply are left to the reading of the file,
        # which names a video's length before its frames (what a member knows of it).
        by_chunk = track.handler == b"soun" and track.sample_size > 0
        entries = track.samples // 160 if by_chunk else track.samples
        if track.handler == b"vide" and entries > MAX_ENTRIES:
            return "too_many_frames", {"frames": track.samples, "limit": max_frames}
        if max(track.chunks, entries) > MAX_ENTRIES:
            return "not_mp4", {}
    if facts.fragment_samples > MAX_ENTRIES:
        return "not_mp4", {}
    return None
