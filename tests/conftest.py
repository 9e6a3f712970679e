"""Shared test configuration."""

from __future__ import annotations

import pytest

from tests.fake_discord.contract import load_contract, spec_path


def pytest_report_header(config: pytest.Config) -> str:
    """Say whether REST bodies are checked against Discord's OpenAPI description."""
    if load_contract() is None:
        return (
            f"Discord contract check SKIPPED: {spec_path()} is not on this machine "
            "(set DISCORD_OPENAPI to its path to turn the check on)"
        )
    return f"Discord contract check ON: {spec_path()}"
