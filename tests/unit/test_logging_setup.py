"""The log format: every secret redacted, tracebacks included."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bot.logging_setup import RedactingFormatter, RedactingJsonFormatter, configure_logging


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


@pytest.mark.parametrize(
    "formatter", [RedactingFormatter("%(message)s", []), RedactingJsonFormatter([])]
)
def test_an_interactions_token_in_a_webhook_path_is_hidden(formatter: logging.Formatter) -> None:
    token = "aW50ZXJhY3Rpb246OTAwMDAwMDAwMDAwMDAwMDAx" * 2
    line = formatter.format(
        record(f"PATCH https://discord.com/api/v10/webhooks/900000000000000001/{token}/messages/5")
    )
    assert token not in line and "/webhooks/900000000000000001/[redacted]/messages/5" in line


def test_a_secret_that_contains_another_is_hidden_whole() -> None:
    formatter = RedactingFormatter("%(message)s", ["abcd", "abcdefgh"])
    assert formatter.format(record("abcdefgh")) == "[redacted]"


def test_json_lines_are_one_object_each_with_extras_and_secrets_redacted() -> None:
    formatter = RedactingJsonFormatter(["sk-secret-key", 'we"ird\\key'])
    try:
        raise RuntimeError("the key sk-secret-key leaked")
    except RuntimeError as exc:
        failing = record('token we"ird\\key and sk-secret-key', exc)
    failing.job_id, failing.kind = "abc123", "generate"
    text = formatter.format(failing)
    assert "\n" not in text
    data = json.loads(text)
    assert data["level"] == "ERROR" and data["logger"] == "bot"
    assert data["message"] == "token [redacted] and [redacted]"
    assert data["job_id"] == "abc123" and data["kind"] == "generate"
    assert "Traceback" in data["exc_info"] and "sk-secret-key" not in data["exc_info"]
    assert "time" in data


@pytest.fixture
def root_logger() -> Iterator[None]:
    """configure_logging replaces the root logger's handlers: put them back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("root_logger")
def test_configure_logging_picks_the_format(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", ["tok3n-value"], "json")
    logging.getLogger("bot.test").info("with tok3n-value", extra={"event": "sent"})
    line = capsys.readouterr().err.strip()
    assert json.loads(line)["message"] == "with [redacted]"
    assert json.loads(line)["event"] == "sent"
    configure_logging("INFO", ["tok3n-value"], "text")
    logging.getLogger("bot.test").info("with tok3n-value")
    assert capsys.readouterr().err.strip().endswith("INFO    bot.test: with [redacted]")
