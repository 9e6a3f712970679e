"""Ports to hand to a server that binds them later, safe from every other test running."""

from __future__ import annotations

import socket


def reserved_port(host: str = "127.0.0.1") -> int:
    """A port for a server that must be told its port before it binds it (the bot's
    WEBHOOK_LISTEN takes no port 0), which no other socket gets in the meantime: not in this
    process, not in another xdist worker, not anywhere else on the machine.

    A port found free and let go (pytest-asyncio's `unused_tcp_port`) can be handed to the next
    socket bound to port 0 by anyone before the bot binds it. This one is left in TIME_WAIT by a
    connection closed from its side: for a minute the kernel hands it to no bind(0) or connect(),
    while a server that sets SO_REUSEADDR, as aiohttp does, can bind it."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, 0))
        server.listen(1)
        port: int = server.getsockname()[1]
        with socket.create_connection((host, port)):
            accepted, _ = server.accept()
            accepted.close()  # the listening side closes first, so TIME_WAIT is on this port
    return port
