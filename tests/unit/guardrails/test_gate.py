"""The guardrails gate on real SQLite and PostgreSQL with a clock the tests move, midnight
included."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.discord.wording import explain
from bot.guardrails import Ask, Guardrails, GuildSettings, Refusal, ServerSettings
from bot.storage import JobStore, NewJob, Status, open_storage
from tests.helpers.clock import Clock
from tests.helpers.databases import DatabaseUnderTest
from tests.helpers.round_trips import counting_round_trips

GUILD, CHANNEL, USER, ADMIN = 10, 20, 30, 40


@pytest.fixture
async def gate(
    database: DatabaseUnderTest,
) -> AsyncIterator[tuple[Guardrails, JobStore, Clock]]:
    clock = Clock(datetime(2026, 11, 24, 23, 59, 0, tzinfo=UTC).timestamp())
    storage = await open_storage(database.target, clock)
    yield Guardrails(storage.jobs, ServerSettings(storage.guild_settings)), storage.jobs, clock
    await storage.close()


def ask(kind: str = "generate", texts: tuple[str, ...] = ("a fox",), **changes: object) -> Ask:
    values: dict[str, object] = {
        "guild_id": GUILD,
        "channel_id": CHANNEL,
        "user_id": USER,
        "role_ids": frozenset(),
        "kind": kind,
        "texts": texts,
    }
    return Ask(**(values | changes))  # type: ignore[arg-type]


async def admit(g: Guardrails, store: JobStore, request: Ask | None = None) -> None:
    request = request or ask()
    new = NewJob(request.kind, {}, request.guild_id, request.channel_id, request.user_id)
    job, created = await g.admit(request, new)
    assert created and job.user_id == request.user_id


async def refused(g: Guardrails, store: JobStore, request: Ask | None = None) -> str:
    """What the member reads when the gate refuses."""
    with pytest.raises(Refusal) as caught:
        await admit(g, store, request)
    return explain(caught.value)


async def test_defaults_are_the_documented_ones(gate: tuple[Guardrails, JobStore, Clock]) -> None:
    settings = await gate[0].settings.get(GUILD)
    assert settings == GuildSettings()
    assert (settings.max_running_per_user, settings.daily_quota_per_user) == (2, 20)
    assert settings.allowed_channels == [] and settings.daily_quota_server is None


async def test_no_jobs_outside_a_server(gate: tuple[Guardrails, JobStore, Clock]) -> None:
    g, store, _ = gate
    assert "only be made in a server" in await refused(g, store, ask(guild_id=None))


async def test_allowed_channels(gate: tuple[Guardrails, JobStore, Clock]) -> None:
    g, store, _ = gate
    await g.settings.change(GUILD, ADMIN, allowed_channels=[99])
    assert "can be made only in <#99>" in await refused(g, store)
    await admit(g, store, ask(channel_id=99))


async def test_required_role(gate: tuple[Guardrails, JobStore, Clock]) -> None:
    g, store, _ = gate
    await g.settings.change(GUILD, ADMIN, required_role=7)
    assert "needs the <@&7> role" in await refused(g, store)
    await admit(g, store, ask(role_ids=frozenset({7})))


async def test_running_cap_counts_jobs_that_have_not_ended(
    gate: tuple[Guardrails, JobStore, Clock],
) -> None:
    g, store, _ = gate
    await admit(g, store)
    await admit(g, store)
    assert "Videos in the making: 2, the most this server allows at once (2)" in await refused(
        g, store
    )
    first = (await store.running_jobs(GUILD, USER))[0]
    await store.update(first.id, status=Status.DELIVERED)
    await admit(g, store)


async def test_twenty_simultaneous_asks_with_a_cap_of_two_start_exactly_two(
    gate: tuple[Guardrails, JobStore, Clock],
) -> None:
    g, store, _ = gate

    async def attempt() -> bool:
        try:
            await admit(g, store)
        except Refusal:
            return False
        return True

    outcomes = await asyncio.gather(*[attempt() for _ in range(20)])
    assert outcomes.count(True) == 2
    assert len(await store.running_jobs(GUILD)) == 2


async def test_daily_quota_per_member_resets_at_midnight_utc(
    gate: tuple[Guardrails, JobStore, Clock],
) -> None:
    g, store, clock = gate
    await g.settings.change(GUILD, ADMIN, daily_quota_per_user=1, max_running_per_user=50)
    await admit(g, store)
    midnight = int(datetime(2026, 11, 25, tzinfo=UTC).timestamp())
    assert f"reached today's limit of 1 here. It resets <t:{midnight}:R>" in await refused(g, store)
    clock.now += 61  # 00:00:01 the next day
    await admit(g, store)
    assert "reached today's limit of 1" in await refused(g, store)


async def test_a_server_in_another_time_zone_gets_a_new_day_at_its_own_midnight(
    gate: tuple[Guardrails, JobStore, Clock],
) -> None:
    g, store, clock = gate
    clock.now = datetime(2026, 11, 24, 22, 30, tzinfo=UTC).timestamp()  # 23:30 in Paris
    await g.settings.change(
        GUILD, ADMIN, daily_quota_per_user=1, max_running_per_user=50, timezone="europe/paris"
    )
    assert (await g.settings.get(GUILD)).timezone == "Europe/Paris"
    await admit(g, store)
    paris_midnight = int(datetime(2026, 11, 24, 23, 0, tzinfo=UTC).timestamp())
    assert f"resets <t:{paris_midnight}:R> (midnight, Europe/Paris)" in await refused(g, store)
    clock.now += 31 * 60  # 00:01 in Paris, still 23:01 the day before in UTC
    await admit(g, store)
    assert (await g.usage(GUILD, USER)).today == 1


async def test_a_quota_day_spanning_a_clock_change_still_ends_at_midnight(
    gate: tuple[Guardrails, JobStore, Clock],
) -> None:
    g, _, clock = gate
    await g.settings.change(GUILD, ADMIN, timezone="America/New_York")
    clock.now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC).timestamp()  # clocks went back at 2:00
    use = await g.usage(GUILD, USER)
    assert use.resets_at.timestamp() == datetime(2026, 11, 2, 5, 0, tzinfo=UTC).timestamp()


async def test_daily_quota_for_the_server(gate: tuple[Guardrails, JobStore, Clock]) -> None:
    g, store, clock = gate
    await g.settings.change(GUILD, ADMIN, daily_quota_server=2, max_running_per_user=50)
    await admit(g, store)
    await admit(g, store, ask(user_id=31))
    assert "This server has reached today's limit of 2" in await refused(g, store, ask(user_id=32))
    await admit(g, store, ask(guild_id=11))  # another server is not affected
    clock.now += 61
    await admit(g, store, ask(user_id=32))


async def test_cooldown(gate: tuple[Guardrails, JobStore, Clock]) -> None:
    g, store, clock = gate
    await g.settings.change(GUILD, ADMIN, cooldown_seconds=30)
    await admit(g, store)
    clock.now += 29
    assert f"Ask again <t:{int(clock.now + 1)}:R>" in await refused(g, store)
    clock.now += 1
    await admit(g, store)


async def test_blocked_patterns_match_any_text_ignoring_case(
    gate: tuple[Guardrails, JobStore, Clock],
) -> None:
    g, store, _ = gate
    await g.settings.change(GUILD, ADMIN, blocked_patterns=["gore", r"\bblood\w*"])
    assert "does not allow (`gore`)" in await refused(g, store, ask(texts=("a GORE scene",)))
    assert "does not allow" in await refused(g, store, ask(texts=("fine", "bloody mess")))
    await admit(g, store, ask(texts=("a lovely fox",)))


async def test_paid_features_switch_stops_extend_and_upscale_only(
    gate: tuple[Guardrails, JobStore, Clock],
) -> None:
    g, store, _ = gate
    await g.settings.change(GUILD, ADMIN, paid_features=False, max_running_per_user=50)
    for kind in ("extend", "upscale"):
        assert "Extending and upscaling are turned off" in await refused(g, store, ask(kind=kind))
    await admit(g, store, ask(kind="generate"))


async def test_settings_are_read_once_and_a_change_is_seen_at_once(
    gate: tuple[Guardrails, JobStore, Clock],
) -> None:
    g, store, clock = gate
    with counting_round_trips() as count:
        for _ in range(5):
            await admit(g, store, ask(user_id=50 + _))
    reads = [s for s in count.statements if "guild_settings" in s]
    assert len(reads) == 1  # the first admission read them; the others used the cache
    await g.settings.change(GUILD, ADMIN, cooldown_seconds=30)
    assert "between videos here" in await refused(g, store, ask(user_id=50))
    clock.now += 61  # past the cache's minute, settings are read again (another process's)
    with counting_round_trips() as count:
        await admit(g, store, ask(user_id=60))
    assert len([s for s in count.statements if "guild_settings" in s]) == 1
