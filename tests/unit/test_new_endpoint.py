"""The recipe of docs/architecture.md for a new Pika endpoint, walked with a throwaway one.

A "sparkle" endpoint is added the way the recipe says, touching only what its five steps would
hold: the request model (with its route and key), its kind record, its title, the command's
option values, and the local Pika's picture title. Then a member's request goes the whole way:
intake, admission, the row, the paid call to the new route, the local Pika's render, the tracker
and delivery. If the recipe forgets a step, this test fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar

import pytest

from bot.discord import wording
from bot.pika import kinds
from bot.pika.local import spec
from bot.pika.local.app import LocalPika, running_local_pika
from bot.pika.models import Options, PikaRequestModel, Prompt
from bot.storage import Status
from bot.submit import Answered, Member
from tests.unit.conftest import Stack, make_stack, rendered


class SparkleRequest(PikaRequestModel):
    """1. `bot/pika/models/requests.py`: the body, with its route and stable key."""

    route: ClassVar[str] = "/web/sparkle"
    key: ClassVar[str] = "sparkle"
    prompt_text: Prompt
    options: Options


@pytest.fixture
async def sparkle(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[Stack]:
    # 2. `bot/pika/kinds.py`: its record. 3. `bot/discord/messages.py`: its title.
    # 5. `bot/pika/local/spec.py`: how the local Pika labels (and draws) it.
    record = kinds.JobKind("sparkle", (SparkleRequest,))
    monkeypatch.setattr(kinds, "KINDS", MappingProxyType({**kinds.KINDS, "sparkle": record}))
    monkeypatch.setitem(wording.MESSAGES, "kind.sparkle", "Sparkle")
    monkeypatch.setitem(spec.RECIPES, "sparkle", spec.Recipe("sparkle"))
    async with running_local_pika(job_seconds=0, api_key="k") as local:
        async for stack in make_stack(tmp_path / "db.sqlite3", local.base_url):
            stack.local = local  # type: ignore[attr-defined]
            yield stack


async def test_a_new_endpoint_goes_from_command_to_delivery(sparkle: Stack) -> None:
    local: LocalPika = sparkle.local  # type: ignore[attr-defined]
    member = Member(guild_id=1, user_id=3, channel_id=2)

    async def announce(job: object) -> Answered:
        return Answered(1)

    # 4. `cogs/pika.py`: the command hands its option values to the use case by name.
    values = {"prompt": "sparkles", "frame_rate": 8}
    job, _ = await sparkle.submissions.ask(member, "sparkle", values, announce)
    assert job.status is Status.RUNNING, job.last_error
    assert job.request == SparkleRequest(
        prompt_text="sparkles", options=Options.default(frameRate=8)
    ).payload() | {"options": job.request["options"]}
    assert [r["path"] for r in local.requests] == ["/web/sparkle"]
    await sparkle.tracker.poll(await rendered(local, job))
    await sparkle.settle()
    done = await sparkle.store.get(job.id)
    assert done is not None and done.status is Status.DELIVERED
    assert local.jobs[done.pika_job_id or ""].request_key == "sparkle"
    assert wording.title("sparkle") == "Sparkle"


def test_a_model_without_a_route_is_refused_when_it_is_written() -> None:
    with pytest.raises(TypeError, match="has no route"):

        class Nowhere(PikaRequestModel):
            key: ClassVar[str] = "nowhere"
