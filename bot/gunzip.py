"""A gzip body undone a bounded piece at a time.

httpx undoes a content encoding a whole network chunk at once, before its caller can count the
bytes: a 16 KiB chunk of a gzip bomb comes out as about 16 MiB at a time. `Gunzip` gives at
most `PIECE` bytes per step instead (zlib's `max_length`, the rest of the input kept in
`unconsumed_tail`), so that a byte cap applied between the steps holds in memory too.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

PIECE = 1 << 16


def _member() -> zlib._Decompress:
    return zlib.decompressobj(16 + zlib.MAX_WBITS)  # 16+: the gzip header and trailer


class Gunzip:
    """Decodes one gzip body fed in chunks; `zlib.error` on a body that is not gzip."""

    def __init__(self) -> None:
        self._z = _member()

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The bytes that `data` decodes to, at most PIECE at a time. Consume each piece
        before asking for the next: the next is decoded only then."""
        while True:
            if self._z.eof:
                # A gzip body is a series of members (RFC 1952): what follows one must be the
                # next (zlib.error if it is not), never dropped, which would pass on a file cut
                # short as whole.
                data = self._z.unused_data + data
                if not data:
                    return
                self._z = _member()
            out = self._z.decompress(data, PIECE)
            # At a member's end the input left is in `unused_data`; `unconsumed_tail` may still
            # hold a stale copy of it.
            data = b"" if self._z.eof else self._z.unconsumed_tail
            if out:
                yield out
            # A full piece may leave output inside zlib even when all the input is taken.
            if not data and len(out) < PIECE and not self._z.eof:
                return

    def end(self) -> None:
        """The body ended: raise zlib.error if the gzip stream did not."""
        if not self._z.eof:
            raise zlib.error("the gzip stream is cut short")
