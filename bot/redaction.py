"""Hiding secrets in every form they could take in text a vendor sends back or a log line holds.

A server that echoes what it received may send the API key back as sent, URL-encoded, in
base64 (on its own, or inside `Bearer <key>` or `user:key`, so at any of three alignments),
or cut short. `Redactor.redact` replaces each of these forms, and every prefix of 8 or more
characters of them, with `[redacted]`. The log formatter, the Pika client and the job store's
`last_error` all go through it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "[redacted]"
MIN_PREFIX = 8  # a cut-short secret is hidden from this many characters on
MIN_SECRET = 4  # shorter values are not secrets worth hiding (and would hide too much)


def _base64_cores(secret: bytes) -> set[str]:
    """The base64 characters that only the secret's bytes decide, at each of the three
    alignments it can have inside a longer encoded text, in both alphabets."""
    cores = set()
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * offset + secret).decode().rstrip("=")
            start = -(-8 * offset // 6)  # the first character with no bit of the padding bytes
            end = 8 * (offset + len(secret)) // 6  # the last with no bit of what follows
            cores.add(text[start:end])
    return cores


def forms_of(secret: str) -> set[str]:
    """Every form of a secret worth looking for."""
    raw = secret.encode()
    # As sent, escaped inside a JSON string (a JSON log line), URL-encoded, in base64.
    escaped = json.dumps(secret)[1:-1]
    forms = {secret, escaped, quote(secret, safe=""), quote_plus(secret), *_base64_cores(raw)}
    return {f for f in forms if len(f) >= MIN_SECRET}


class Redactor:
    """Replaces known secrets, in any form, with `[redacted]`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        found = {form for s in secrets if len(s) >= MIN_SECRET for form in forms_of(s)}
        # Longest first, so a form that contains another is hidden whole.
        self._forms = sorted(found, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        return self.redact(text)

    def redact(self, text: str) -> str:
        """The text with every form of every secret (and prefixes of 8+ characters) hidden."""
        for form in self._forms:
            text = _hide(text, form)
        return text


def _hide(text: str, form: str) -> str:
    """Replace each run of `text` that starts like `form` (MIN_PREFIX characters, or all of a
    shorter form) and goes on matching it."""
    head = form[:MIN_PREFIX]
    parts: list[str] = []
    start = 0
    while True:
        found = text.find(head, start)
        if found < 0:
            break
        length = len(head)
        while length < len(form) and found + length < len(text):
            if text[found + length] != form[length]:
                break
            length += 1
        parts += [text[start:found], MASK]
        start = found + length
    parts.append(text[start:])
    return "".join(parts)
