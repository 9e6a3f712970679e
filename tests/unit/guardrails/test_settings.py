"""Each server's settings: validated as a whole, every change audited, refusals named."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from bot.discord.wording import explain
from bot.errors import InputError
from bot.guardrails import ServerSettings
from bot.storage import GuildSettingsStore, open_storage
from bot.storage.backend import Database
from tests.helpers.databases import DatabaseUnderTest

GUILD, ADMIN = 10, 40


@pytest.fixture
async def settings(database: DatabaseUnderTest) -> AsyncIterator[ServerSettings]:
    storage = await open_storage(database.target)
    yield ServerSettings(storage.guild_settings)
    await storage.close()


async def refusal(settings: ServerSettings, **changes: object) -> str:
    with pytest.raises(InputError) as caught:
        await settings.change(GUILD, ADMIN, **changes)
    return explain(caught.value)


async def test_invalid_settings_are_refused_naming_the_setting(settings: ServerSettings) -> None:
    # The pattern is shown as typed in code (the owner's text, never read as markdown): before,
    # in Python's repr, quoted and with each backslash doubled; an invisible character shows
    # by its code.
    assert "blocked_patterns: `(unclosed` cannot be used" in await refusal(
        settings, blocked_patterns=["(unclosed"]
    )
    assert "blocked_patterns: `(a)\\1` cannot be used" in await refusal(
        settings, blocked_patterns=[r"(a)\1"]
    )
    assert "blocked_patterns: `\\bfox\\u200b(` cannot be used" in await refusal(
        settings, blocked_patterns=["\\bfox\u200b("]
    )
    # Half of a character (JSON can carry one): refused in words, not Python's codec error.
    assert await refusal(settings, blocked_patterns=["fox\ud800"]) == (
        "⚠️ blocked_patterns: `fox\\ud800` holds half of a character (an unpaired "
        "surrogate), which no text can hold; type it again"
    )
    costly = [rf"(\w+\s?){{60}}{n}" for n in range(40)]  # each allowed, not all of them
    assert "blocked_patterns: together the patterns are too costly to match" in await refusal(
        settings, blocked_patterns=costly
    )
    assert "max_running_per_user: must be at least 1" in await refusal(
        settings, max_running_per_user=0
    )
    assert "defaults.frame_rate" in await refusal(settings, defaults={"frame_rate": 99})
    assert (await settings.get(GUILD)).max_running_per_user == 2  # nothing was stored


async def test_changes_are_audited_and_unchanged_values_are_not(
    settings: ServerSettings,
) -> None:
    _, diffs = await settings.change(GUILD, ADMIN, cooldown_seconds=10, paid_features=True)
    assert diffs == [("cooldown_seconds", 0, 10)]
    await settings.change(GUILD, ADMIN + 1, defaults={"motion": 3})
    audit = await settings.audit(GUILD)
    assert [(a.user_id, a.setting, a.old_value, a.new_value) for a in audit] == [
        (ADMIN + 1, "defaults", "{}", '{"motion":3}'),
        (ADMIN, "cooldown_seconds", "0", "10"),
    ]
    assert [a.setting for a in await settings.audit(GUILD, limit=1, offset=1)] == [
        "cooldown_seconds"
    ]


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", "Europe"])
async def test_an_unknown_time_zone_is_refused_with_examples(
    settings: ServerSettings, zone: str
) -> None:
    assert "is not a time zone; use a name such as Europe/Paris" in await refusal(
        settings, timezone=zone
    )
    assert (await settings.get(GUILD)).timezone == "UTC"


async def test_a_server_that_changed_nothing_has_the_defaults(settings: ServerSettings) -> None:
    assert (await settings.get(GUILD)).daily_quota_per_user == 20
    assert (await settings.get(None)).daily_quota_per_user == 20


async def test_two_changes_at_once_both_stay(settings: ServerSettings) -> None:
    # Two admins at the same moment, or one changing a cap while another sets the time zone:
    # each change is made on the settings as the other left them, never on a stale copy.
    await asyncio.gather(
        settings.change(GUILD, ADMIN, max_running_per_user=5),
        settings.change(GUILD, ADMIN + 1, timezone="Europe/Paris"),
        settings.change(GUILD, ADMIN + 2, cooldown_seconds=30),
    )
    for cached in (await settings.get(GUILD), await ServerSettings(settings.store).get(GUILD)):
        assert (cached.max_running_per_user, cached.timezone, cached.cooldown_seconds) == (
            5,
            "Europe/Paris",
            30,
        )


class PausedLoads(GuildSettingsStore):
    """A process's settings store whose first read is held once it has the document, until
    `go` is set: a read that crossed another process's change."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.read, self.go = asyncio.Event(), asyncio.Event()

    async def load(self, guild_id: int) -> str | None:
        data = await super().load(guild_id)
        if not self.read.is_set():
            self.read.set()
            await self.go.wait()
        return data


async def test_a_read_that_crossed_another_process_s_change_is_not_kept(
    database: DatabaseUnderTest,
) -> None:
    # Process B reads a server's settings as process A blocks a word: B's read had the old
    # document, and came back after A told B to forget its copy. Kept, that copy was B's for a
    # minute, and the blocked word passed there.
    storage = await open_storage(database.target)
    try:
        paused = PausedLoads(storage.database)
        a, b = ServerSettings(storage.guild_settings), ServerSettings(paused)

        async def tell_b(guild_id: int) -> None:
            b.forget(guild_id)

        a.changed = tell_b
        crossing = asyncio.create_task(b.get(GUILD))
        await paused.read.wait()
        await a.change(GUILD, ADMIN, blocked_patterns=["nsfw"])
        paused.go.set()
        assert (await crossing).blocked_patterns == []  # read before the change: as it was
        assert (await b.get(GUILD)).blocked_patterns == ["nsfw"]
    finally:
        await storage.close()


async def test_a_stored_pattern_todays_rules_refuse_holds_back_only_the_patterns(
    settings: ServerSettings,
) -> None:
    """A pattern stored before the cost rule came (or before patterns were checked) made every
    change of the server's settings refused, naming it, until an admin removed it."""
    old = "(\\w+\\s?){1000}z"  # too costly to match today
    document = json.dumps({"blocked_patterns": [old]})
    await settings.store.edit(GUILD, lambda _: (document, []))
    settings.forget(GUILD)
    changed, _ = await settings.change(GUILD, ADMIN, max_running_per_user=3)
    assert changed.max_running_per_user == 3 and changed.blocked_patterns == [old]
    # A change of the list itself checks every pattern in it, and names the one refused.
    assert "too costly to match" in await refusal(settings, blocked_patterns=[old, "cat"])
    cleaned, _ = await settings.change(GUILD, ADMIN, blocked_patterns=["cat"])
    assert cleaned.blocked_patterns == ["cat"]


async def test_stored_patterns_todays_rules_refuse_can_each_be_removed(
    settings: ServerSettings,
) -> None:
    # Two patterns stored before today's rules (one too costly, one that matches empty text):
    # `/pika-admin blocked remove` takes one at a time, and each removal was refused naming
    # the other, so the owner could remove neither.
    costly, empty = "(\\w+\\s?){1000}z", "\u200b"
    document = json.dumps({"blocked_patterns": [costly, empty, "cat"]})
    await settings.store.edit(GUILD, lambda _: (document, []))
    settings.forget(GUILD)
    fewer, _ = await settings.change(GUILD, ADMIN, blocked_patterns=[empty, "cat"])
    assert fewer.blocked_patterns == [empty, "cat"]
    # Adding still checks every pattern, and names the one refused.
    assert "would block every prompt" in await refusal(
        settings, blocked_patterns=[empty, "cat", "dog"]
    )
    cleaned, _ = await settings.change(GUILD, ADMIN, blocked_patterns=["cat"])
    assert cleaned.blocked_patterns == ["cat"]


async def test_a_change_told_late_to_the_others_leaves_no_stale_copy(
    settings: ServerSettings,
) -> None:
    # Two moderators at once on PostgreSQL, where telling the other processes is a round trip:
    # the first change, told last, kept its own document (without the second change) as this
    # process's copy for a minute, and a word the second blocked passed meanwhile.
    first_told, second_done = asyncio.Event(), asyncio.Event()

    async def tell(guild_id: int) -> None:
        if not first_told.is_set():
            first_told.set()
            await second_done.wait()  # the first one's notice is the slower

    settings.changed = tell
    first = asyncio.create_task(settings.change(GUILD, ADMIN, cooldown_seconds=30))
    await first_told.wait()
    await settings.change(GUILD, ADMIN + 1, blocked_patterns=["nsfw"])
    second_done.set()
    await first
    cached = await settings.get(GUILD)
    assert (cached.cooldown_seconds, cached.blocked_patterns) == (30, ["nsfw"])


async def test_refused_settings_are_told_in_the_owners_language(settings: ServerSettings) -> None:
    # pydantic's own limits and the settings' rules came in English ("Input should be greater
    # than or equal to 1", "at most 100 patterns") to every owner.
    async def refused(lang: str, **changes: object) -> str:
        with pytest.raises(InputError) as caught:
            await settings.change(GUILD, ADMIN, **changes)
        return explain(caught.value, lang)

    assert await refused("fr", max_running_per_user=0) == (
        "⚠️ max_running_per_user : doit valoir au moins 1"
    )
    assert await refused("de", cooldown_seconds=90_000) == (
        "⚠️ cooldown_seconds: darf höchstens 86400 sein"
    )
    assert await refused("fr", defaults={"negative_prompt": "n" * 1001}) == (
        "⚠️ defaults.negative_prompt : doit faire au plus 1000 caractères (reçu : 1001)"
    )
    assert await refused("es", defaults={"aspect_ratio": "2:1"}) == (
        "⚠️ defaults.aspect_ratio: debe ser uno de estos valores: '16:9', '9:16', '1:1', '5:2', "
        "'4:5', '4:3'"
    )
    assert await refused("pt-BR", blocked_patterns=[f"w{n}" for n in range(101)]) == (
        "⚠️ blocked_patterns: um servidor pode bloquear no máximo 100 palavras ou padrões"
    )
    assert await refused("ja", blocked_patterns=["a*"]) == (
        "⚠️ blocked_patterns: `a*` はすべてのプロンプトをブロックしてしまいます（空のテキストに"
        "一致します）。見つかるべき語や言い回しを指定してください"
    )
    costly = [rf"(\w+\s?){{60}}{n}" for n in range(40)]
    assert (await refused("fr", blocked_patterns=costly)).startswith(
        "⚠️ blocked_patterns : ensemble, les motifs sont trop coûteux à chercher ("
    )
    assert await refused("de", timezone="Mars/Olympus") == (
        "⚠️ zeitzone: 'Mars/Olympus' ist keine Zeitzone; nutze einen Namen wie Europe/Berlin, "
        "America/New_York oder UTC"
    )
    # Shown as typed: one backslash (escaped for Discord's markdown), not Python's repr of two.
    assert (await refused("en", timezone="Europe\\Paris")).startswith(
        "⚠️ timezone: 'Europe\\\\Paris' is not a time zone;"
    )


async def test_a_pattern_that_matches_any_letter_is_refused(settings: ServerSettings) -> None:
    """An owner blocking "a dot" with `.` (or `\\w`, `[a-z]`) was answered ✅, and every prompt
    of every member was refused from then on."""
    for pattern in (".", r"\w", "[a-z]", r"\pL"):
        assert "would block every prompt (it matches any letter)" in await refusal(
            settings, blocked_patterns=[pattern]
        ), pattern
    saved, _ = await settings.change(GUILD, ADMIN, blocked_patterns=["a", "fox", r"\bx\b"])
    assert saved.blocked_patterns == ["a", "fox", r"\bx\b"]
    with pytest.raises(InputError) as caught:
        await settings.change(GUILD, ADMIN, blocked_patterns=["."])
    assert explain(caught.value, "fr") == (
        "⚠️ blocked_patterns : `.` bloquerait tous les prompts (il correspond à n'importe "
        "quelle lettre) ; donne un mot ou une expression qui doit être trouvé"
    )
