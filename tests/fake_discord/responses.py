"""Answers in Discord's shapes: JSON as discord.py insists on it, and Discord's error bodies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

API = "/api/v10"  # REST lives under this prefix; the gateway and files do not


def jsonify(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """A JSON answer whose Content-Type is exactly application/json, as discord.py requires."""
    response = web.Response(body=json.dumps(data).encode(), status=status, headers=headers)
    response.headers["Content-Type"] = "application/json"
    return response


def error(status: int, code: int, message: str, **extra: Any) -> web.Response:
    """Discord's error shape: a JSON error code (10008 Unknown Message...) and its message."""
    return jsonify({"code": code, "message": message, **extra}, status)


def form_error(problems: Mapping[str, str]) -> web.Response:
    """Discord's 50035 Invalid Form Body, with its nested `errors` object."""
    errors = {
        field: {"_errors": [{"code": "INVALID_FORM_BODY", "message": message}]}
        for field, message in problems.items()
    }
    return error(400, 50035, "Invalid Form Body", errors=errors)


def rate_limited(
    retry_after: float, headers: Mapping[str, str] | None = None, *, is_global: bool = False
) -> web.Response:
    """A 429 with the headers discord.py reads to wait and retry (by default, a per-user
    bucket limit)."""
    return jsonify(
        {
            "message": "You are being rate limited.",
            "retry_after": round(retry_after, 3),
            "global": is_global,
        },
        429,
        headers
        or {
            "Retry-After": f"{retry_after:g}",
            "X-RateLimit-Scope": "user",
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": f"{retry_after:g}",
            "X-RateLimit-Bucket": "fake",
            "Via": "1.1 google",
        },
    )
