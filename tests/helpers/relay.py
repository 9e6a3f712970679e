"""A relay between the processes of a test: what PostgreSQL's LISTEN/NOTIFY does between bot
processes (`bot/storage/notify.py`), in memory."""

from __future__ import annotations

from collections.abc import Callable


class Bus:
    """Every text to every receiver, the sender's own included (as PostgreSQL's NOTIFY does);
    what was sent is kept, in order."""

    def __init__(self) -> None:
        self.receivers: list[Callable[[str], None]] = []
        self.sent: list[str] = []

    async def send(self, text: str) -> None:
        self.sent.append(text)
        for receive in self.receivers:
            receive(text)

    def on_text(self, receive: Callable[[str], None]) -> None:
        self.receivers.append(receive)

    async def close(self) -> None:
        self.receivers.clear()
