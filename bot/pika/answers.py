"""One exchange with Pika, its answer read within bounds.

Whatever Pika sends, reading it holds at most `MAX_ANSWER_BYTES` (a job's JSON is a few
kilobytes): the body is streamed and counted, a gzip body undone a bounded piece at a time
(`bot/gunzip.py`, so that a small gzip body cannot swell past the cap in memory), and what is
past the cap is never read. The client bounds the whole exchange in time as well (`PikaClient`):
httpx's time-outs are per read, so an answer that drips a byte at a time would never end.
The helpers at the end read an error answer: its message, and how long its Retry-After asks.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from bot.gunzip import Gunzip
from bot.safe_fetch import encoding

MAX_ANSWER_BYTES = 1 << 20


@dataclass(frozen=True)
class Answer:
    """Pika's answer: its status, its headers and its body, once undone; `fault` says why the
    body could not be read whole (too large, or not in the encoding it claims)."""

    status: int
    headers: httpx.Headers
    body: bytes
    fault: str | None = None

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not, or could not be read whole."""
        if self.fault is not None:
            raise ValueError(self.fault)
        try:
            return json.loads(self.body)
        except RecursionError:  # nested deeper than the parser goes: not ValueError by itself
            raise ValueError("nested too deeply") from None

    @property
    def text(self) -> str:
        """The body as text, for an error's detail."""
        return self.body.decode("utf-8", "replace")


async def exchange(
    http: httpx.AsyncClient, request: httpx.Request, limit: int = MAX_ANSWER_BYTES
) -> Answer:
    """Send `request` and read its answer, at most `limit` bytes of it once undone."""
    response = await http.send(request, stream=True)
    try:
        body, fault = await _read(response, limit)
    finally:
        await response.aclose()
    return Answer(response.status_code, response.headers, body, fault)


async def _read(response: httpx.Response, limit: int) -> tuple[bytes, str | None]:
    coding = encoding(response)
    if coding not in ("identity", "gzip"):  # only gzip is asked for
        return b"", f"encoded as {coding[:20]!r}"
    gunzip = Gunzip() if coding == "gzip" else None
    parts: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_raw():
            for piece in gunzip.feed(chunk) if gunzip is not None else (chunk,):
                size += len(piece)
                if size > limit:
                    return b"".join(parts), "too large"
                parts.append(piece)
        if gunzip is not None:
            gunzip.end()
    except zlib.error:
        return b"".join(parts), "not the gzip it said it was"
    return b"".join(parts), None


def message_of(body: Any) -> str:
    """The message of an error answer's JSON (`error`, `message`, `detail` or `msg`, nested or
    not), or ''."""
    if isinstance(body, Mapping):
        for key in ("error", "message", "detail", "msg"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
            if isinstance(value, Mapping):
                inner = message_of(value)
                if inner:
                    return inner
            if isinstance(value, list) and value:
                return "; ".join(message_of(v) or str(v) for v in value[:3])
    if isinstance(body, str):
        return body.strip()
    return ""


def retry_after_of(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
