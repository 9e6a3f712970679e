"""A gzip body undone a bounded piece at a time (bot/gunzip.py)."""

from __future__ import annotations

import gzip
import zlib

import pytest

from bot.gunzip import PIECE, Gunzip


def test_a_bomb_comes_out_a_piece_at_a_time_and_only_as_each_is_taken() -> None:
    body = bytes(32 * 1024 * 1024)
    bomb = gzip.compress(body, compresslevel=9)  # about 32 KiB
    pieces = Gunzip().feed(bomb)
    first = next(pieces)
    assert len(first) == PIECE  # not the 32 MiB the input holds
    rest = list(pieces)
    assert all(len(p) <= PIECE for p in rest)
    assert len(first) + sum(map(len, rest)) == len(body)


def test_a_body_fed_in_any_chunks_decodes_whole() -> None:
    body = bytes(range(256)) * 2000
    packed = gzip.compress(body)
    gunzip = Gunzip()
    out = b"".join(p for i in range(0, len(packed), 7) for p in gunzip.feed(packed[i : i + 7]))
    gunzip.end()
    assert out == body


def test_a_body_cut_short_or_not_gzip_is_an_error() -> None:
    cut = Gunzip()
    list(cut.feed(gzip.compress(b"x" * 5000)[:20]))
    with pytest.raises(zlib.error):
        cut.end()
    with pytest.raises(zlib.error):
        list(Gunzip().feed(b"PNG, not gzip"))


def test_a_body_of_several_members_decodes_whole_however_it_is_cut() -> None:
    # RFC 1952: a gzip body is a series of members; stopping after the first would hand on a
    # file cut short as if it were whole.
    body = b"A" * 1000 + bytes(range(256)) * 600 + b"B" * 1000
    packed = (
        gzip.compress(body[:1000]) + gzip.compress(body[1000:-1000]) + gzip.compress(body[-1000:])
    )
    for step in (len(packed), 7, 1):
        gunzip = Gunzip()
        out = b"".join(
            p for i in range(0, len(packed), step) for p in gunzip.feed(packed[i : i + step])
        )
        gunzip.end()
        assert out == body


def test_bytes_after_the_last_member_that_are_not_another_are_an_error() -> None:
    with pytest.raises(zlib.error):
        list(Gunzip().feed(gzip.compress(b"x" * 1000) + b"not gzip"))
