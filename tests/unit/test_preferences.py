"""A member's own defaults: kept per member and server, validated, reset."""

from __future__ import annotations

import pytest

from bot.errors import InputError
from bot.preferences import PersonalDefaults, Preferences
from bot.storage import open_storage
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
