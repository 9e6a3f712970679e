"""Logging configuration: text for people or JSON for collectors, and no secret ever printed."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from bot.redaction import Redactor

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# The fields of every JSON line; a record's `extra` (job_id, kind, guild_id, event) joins them.
JSON_FIELDS = ("asctime", "levelname", "name", "message")
JSON_RENAMED = {"asctime": "time", "levelname": "level", "name": "logger"}
# Loggers that say too much at INFO for an owner's log; and aiosqlite, whose DEBUG lines hold
# every statement's parameters: the jobs' interaction tokens and webhook secrets, which no
# fixed list of secrets can redact.
NOISY = ("httpx", "httpcore", "aiohttp.access", "discord.gateway", "aiosqlite")
# An interaction's token (a credential for 15 minutes) is in the path of every webhook call
# discord.py makes with it, and its debug lines print that path.
TOKEN_IN_PATH = re.compile(r"(/(?:webhooks|interactions)/\d+/)[A-Za-z0-9_.\-]{20,}")


def hidden(text: str, redact: Redactor) -> str:
    """`text` with every known secret and every interaction token replaced."""
    return TOKEN_IN_PATH.sub(r"\1[redacted]", redact(text))


class RedactingFormatter(logging.Formatter):
    """The text format, with every known secret replaced, tracebacks included."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self._redact = Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return hidden(super().format(record), self._redact)


class RedactingJsonFormatter(JsonFormatter):
    """One JSON object a line (time, level, logger, message, the record's extras, and the
    traceback as `exc_info` text), with every known secret replaced."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__(
            list(JSON_FIELDS),
            rename_fields=JSON_RENAMED,
            datefmt="%Y-%m-%dT%H:%M:%S%z",
            json_ensure_ascii=False,
        )
        self._redact = Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return hidden(super().format(record), self._redact)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        """Keep the line one line: a traceback becomes one string field."""
        return {k: v for k, v in log_data.items() if v is not None}


def configure_logging(level: str, secrets: Iterable[str] = (), log_format: str = "text") -> None:
    """Log to stderr at `level` as `log_format` (text or json), redacting `secrets`; quieten
    chatty libraries."""
    secrets = list(secrets)
    handler = logging.StreamHandler(sys.stderr)
    formatter: logging.Formatter = (
        RedactingJsonFormatter(secrets)
        if log_format == "json"
        else RedactingFormatter(TEXT_FORMAT, secrets)
    )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
