"""The log format: every secret redacted, tracebacks included."""

from __future__ import annotations

import logging

from bot.logging_setup import RedactingFormatter


def record(message: str, exc: BaseException | None = None) -> logging.LogRecord:
    info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("bot", logging.ERROR, __file__, 1, message, (), info)


def test_secrets_are_redacted_in_messages_and_tracebacks() -> None:
    formatter = RedactingFormatter("%(message)s", ["sk-secret-key", "short", "abc"])
    try:
        raise RuntimeError("the key sk-secret-key leaked")
    except RuntimeError as exc:
        text = formatter.format(record("token short and sk-secret-key", exc))
    assert "sk-secret-key" not in text and "short" not in text.split("\n")[0]
    assert text.count("[redacted]") >= 3
    assert "abc" in formatter.format(record("abc"))  # under four characters: too common to hide


def test_a_secret_that_contains_another_is_hidden_whole() -> None:
    formatter = RedactingFormatter("%(message)s", ["abcd", "abcdefgh"])
    assert formatter.format(record("abcdefgh")) == "[redacted]"
