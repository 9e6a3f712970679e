"""Secrets hidden in every form a vendor could echo them back in."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest

from bot.redaction import Redactor

KEY = "pk_live/9f8e7d6c+5b4a3f2e1d0c=x"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "echo",
    [
        f"bad key {KEY}",
        f"Authorization: Bearer {KEY}",
        f"encoded {quote(KEY, safe='')} in a query",
        f"as base64 {b64(KEY)}",
        f"the header in base64 {b64('Bearer ' + KEY)}",
        f"basic auth {b64('user:' + KEY)}",
        f"urlsafe {base64.urlsafe_b64encode(KEY.encode()).decode()}",
        f"cut short {KEY[:8]}...",
        f"cut short {KEY[:15]}",
    ],
)
def test_every_form_of_the_key_is_hidden(echo: str) -> None:
    hidden = Redactor([KEY])(echo)
    assert "[redacted]" in hidden
    for form in (KEY, quote(KEY, safe=""), b64(KEY), KEY[:8]):
        assert form not in hidden


def test_other_text_is_left_alone() -> None:
    text = "job 1234 failed: frameRate must be between 1 and 24 (pk_live is a prefix)"
    assert Redactor([KEY])(text) == text
