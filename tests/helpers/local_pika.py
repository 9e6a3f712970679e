"""The local Pika's test-only routes (`/_local/...`): what it was asked, and its fault switches."""

from __future__ import annotations

from typing import Any

import httpx

from bot.pika.local.server import LocalPika


async def local_admin(pika: LocalPika, method: str, path: str, body: Any = None) -> Any:
    """Call one of the local Pika's test routes with its API key; fail on any error status."""
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.request(
            method,
            f"{pika.base_url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {pika.api_key}"},
        )
    response.raise_for_status()
    return response.json()


async def pika_calls(pika: LocalPika) -> list[dict[str, Any]]:
    """Every API call the local Pika received, oldest first: method, path, body and status."""
    return list(await local_admin(pika, "GET", "/_local/requests"))


async def behave(pika: LocalPika, **settings: Any) -> None:
    """Switch the local Pika's simulated faults and timings (latency, fail_jobs, job_seconds...)."""
    await local_admin(pika, "POST", "/_local/behaviour", settings)
