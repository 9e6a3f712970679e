"""A member's own defaults: kept per member and server, validated, reset."""

from __future__ import annotations

import asyncio

import pytest

from bot.discord.wording import explain
from bot.errors import InputError
from bot.preferences import PersonalDefaults, Preferences
from bot.storage import MemberSettingsStore, open_storage
from bot.storage.backend import Database
from tests.helpers.databases import DatabaseUnderTest


async def test_defaults_are_kept_per_member_and_server(database: DatabaseUnderTest) -> None:
    storage = await open_storage(database.target)
    preferences = Preferences(storage.member_settings)
    assert await preferences.get(1, 3) == PersonalDefaults()
    await preferences.change(1, 3, aspect_ratio="9:16", motion=3, mention=False)
    await preferences.change(1, 3, model="2.1")  # adds; keeps the others
    mine = await preferences.get(1, 3)
    assert (mine.aspect_ratio, mine.motion, mine.model, mine.mention) == ("9:16", 3, "2.1", False)
    assert mine.options() == {"aspect_ratio": "9:16", "model": "2.1", "motion": 3}
    assert await preferences.get(2, 3) == PersonalDefaults()  # another server
    assert await preferences.get(1, 4) == PersonalDefaults()  # another member
    assert await preferences.get(None, 3) == PersonalDefaults()  # no server: none
    reset = await preferences.change(1, 3, reset=True, zoom="in")
    assert reset == PersonalDefaults(zoom="in")
    await storage.close()


async def test_a_value_out_of_range_is_refused_naming_the_option(
    database: DatabaseUnderTest,
) -> None:
    storage = await open_storage(database.target)
    preferences = Preferences(storage.member_settings)
    with pytest.raises(InputError) as caught:
        await preferences.change(1, 3, motion=9)
    assert caught.value.problems[0][0] == "motion"
    assert await preferences.get(1, 3) == PersonalDefaults()
    await storage.close()


async def test_a_refused_default_is_told_in_the_members_language(
    database: DatabaseUnderTest,
) -> None:
    # pydantic's own words reached every member in English: "Input should be less than or
    # equal to 4", "String should have at most 1000 characters".
    storage = await open_storage(database.target)
    preferences = Preferences(storage.member_settings)
    with pytest.raises(InputError) as caught:
        await preferences.change(1, 3, motion=9, negative_prompt="n" * 1200)
    assert explain(caught.value, "de") == (
        "⚠️ bewegung: darf höchstens 4 sein\n"
        "negativer_prompt: darf höchstens 1000 Zeichen lang sein (erhalten: 1200)"
    )
    with pytest.raises(InputError) as caught:
        await preferences.change(1, 3, guidance_scale=2)
    assert explain(caught.value, "fr") == "⚠️ fidélité_au_prompt : doit valoir au moins 5"
    await storage.close()


async def test_two_changes_at_once_keep_both(database: DatabaseUnderTest) -> None:
    # A member who sets their motion and, before the answer, their zoom (two devices, or two
    # commands in a row): each change was made on the cached copy from before the other, and
    # the one written last undid the other's.
    storage = await open_storage(database.target)
    try:
        preferences = Preferences(storage.member_settings)
        await preferences.get(1, 3)  # cached, as after any request of theirs
        await asyncio.gather(
            preferences.change(1, 3, motion=3), preferences.change(1, 3, zoom="in")
        )
        for seen in (
            await preferences.get(1, 3),
            await Preferences(storage.member_settings).get(1, 3),
        ):
            assert (seen.motion, seen.zoom) == (3, "in")
    finally:
        await storage.close()


class PausedLoads(MemberSettingsStore):
    """A process's store whose first read is held once it has the document, until `go` is
    set: a read that crossed another process's change."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.read, self.go = asyncio.Event(), asyncio.Event()

    async def load(self, guild_id: int, user_id: int) -> str | None:
        data = await super().load(guild_id, user_id)
        if not self.read.is_set():
            self.read.set()
            await self.go.wait()
        return data


async def test_a_read_that_crossed_another_process_s_change_is_not_kept(
    database: DatabaseUnderTest,
) -> None:
    # Process B, delivering a member's video, reads their defaults as process A turns their
    # pings off: B's read had the old document and came back after A told B to forget it.
    # Kept, that copy was B's for a minute, and B pinged the member who had just said no.
    storage = await open_storage(database.target)
    try:
        paused = PausedLoads(storage.database)
        a, b = Preferences(storage.member_settings), Preferences(paused)

        async def tell_b(guild_id: int, user_id: int) -> None:
            b.forget(guild_id, user_id)

        a.changed = tell_b
        crossing = asyncio.create_task(b.get(1, 3))
        await paused.read.wait()
        await a.change(1, 3, mention=False)
        paused.go.set()
        assert (await crossing).mention is True  # read before the change: as it was
        assert (await b.get(1, 3)).mention is False
    finally:
        await storage.close()


async def test_a_change_told_late_to_the_others_leaves_no_stale_copy(
    database: DatabaseUnderTest,
) -> None:
    # A member's two changes at once, the first told to the other processes last: it kept its
    # own document (without the second change) as this process's copy for a minute.
    storage = await open_storage(database.target)
    try:
        preferences = Preferences(storage.member_settings)
        first_told, second_done = asyncio.Event(), asyncio.Event()

        async def tell(guild_id: int, user_id: int) -> None:
            if not first_told.is_set():
                first_told.set()
                await second_done.wait()

        preferences.changed = tell
        first = asyncio.create_task(preferences.change(1, 3, motion=3))
        await first_told.wait()
        await preferences.change(1, 3, mention=False)
        second_done.set()
        await first
        mine = await preferences.get(1, 3)
        assert (mine.motion, mine.mention) == (3, False)
    finally:
        await storage.close()
