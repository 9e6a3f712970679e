"""Guardrails end to end: every setting on every entry point, exact caps, quotas, audit; the
exact cap, the quota day and the audit on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.guardrails import DefaultOptions, GuildSettings
from bot.pika.local.app import LocalPika
from tests.e2e.harness import (
    BotProcess,
    admin,
    button,
    delivered,
    on_both_databases,
    private_answer,
    public_answer,
    results,
)
from tests.fake_discord import FakeDiscord
from tests.fake_discord.state import Interaction
from tests.fake_discord.world import (
    ADMIN,
    ART,
    FORUM,
    FORUM_POST,
    GENERAL,
    GUILD_ID,
    MEMBER,
    REQUESTER,
    ROLE_ADMIN,
    ROLE_ADMIN_2,
    ROLE_MOD,
    STUDIO,
    Message,
)
from tests.helpers.databases import DatabaseUnderTest
from tests.helpers.local_pika import behave, calls_to, pika_calls, wait_for_call


async def by_command(fake: FakeDiscord) -> str:
    """Ask for a video with `/pika generate`; return the refusal."""
    interaction = fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": "a fox"})
    callback = await fake.wait_for_response(interaction)
    assert callback["data"]["flags"] == 64, callback
    return str(callback["data"]["content"])


async def told_first(fake: FakeDiscord, interaction: Interaction) -> str:
    """What a request was answered: its public working message, or its private refusal."""
    callback = await fake.wait_for_response(interaction)
    if (callback["data"].get("flags") or 0) & 64:
        text = await private_answer(fake, interaction)
        if text != "✅ Your video is starting (see below).":
            return text
    return (await public_answer(fake, interaction)).content


async def by_button(fake: FakeDiscord, result: Message, action: str = "reroll") -> str:
    """Press a result's button; return the refusal."""
    callback = await fake.wait_for_response(fake.press(REQUESTER, result, button(result, action)))
    assert callback["data"]["flags"] == 64, callback
    return str(callback["data"]["content"])


async def by_reaction(fake: FakeDiscord, result: Message, emoji: str = "🔁") -> str:
    """React to a result; return the notice the bot posts after removing the reaction."""
    before = len(fake.channel_messages(GENERAL))
    fake.react(REQUESTER, result, emoji)
    await fake.wait_for(
        lambda: REQUESTER not in result.reactions.get(emoji, []), what="the reaction removed"
    )
    notice = await fake.wait_for(
        lambda: [
            m
            for m in fake.channel_messages(GENERAL)[before:]
            if m.content.startswith(f"<@{REQUESTER}>")
        ],
        what="the notice",
    )
    return str(notice[0].content)


async def by_menu(fake: FakeDiscord, result: Message, name: str = "Extend video") -> str:
    """Use a context menu on a result; return the refusal."""
    callback = await fake.wait_for_response(fake.context_menu(REQUESTER, result, name))
    assert callback["data"]["flags"] == 64, callback
    return str(callback["data"]["content"])


async def refused_everywhere(fake: FakeDiscord, result: Message, rule: str) -> None:
    """The requester is refused with `rule` by command, button, reaction and context menu."""
    assert rule in await by_command(fake)
    assert rule in await by_button(fake, result)
    assert rule in await by_reaction(fake, result)
    assert rule in await by_menu(fake, result)


async def test_every_setting_on_every_entry_point(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    cases: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
        ("channel", {"channel": str(ART), "allowed": True},
         {"channel": str(ART), "allowed": False}, "Videos can be made only in"),
        ("role", {"role": str(ROLE_ADMIN)}, {}, "needs the"),
        ("limits", {"daily_member": 1}, {"daily_member": 20}, "reached today's limit of 1 here"),
        ("limits", {"daily_server": 1}, {"daily_server": 0}, "server has reached today's limit"),
        ("limits", {"cooldown": 3600}, {"cooldown": 0}, "Please wait 3600 s between videos"),
        ("blocked", {"add": "FOX"}, {"remove": "FOX"}, "something this server does not allow"),
    ]  # fmt: skip
    # A member hears about refused reactions on one message once a minute: one result a case.
    made = [await delivered(fake, f"fox {n}") for n in range(len(cases) + 1)]
    paid = len(await pika_calls(pika))
    for (sub, setting, reset, rule), result in zip(cases, made, strict=False):
        assert (await admin(fake, sub, setting)).startswith("✅")
        await refused_everywhere(fake, result, rule)
        assert (await admin(fake, sub, reset)).startswith("✅")
    result = made[-1]
    await admin(fake, "paid-features", {"allowed": False})
    off = "Extending and upscaling are turned off"
    extend = fake.slash(
        REQUESTER, GENERAL, "pika", "extend", {"video_url": result.attachments[0].url}
    )
    assert off in (await fake.wait_for_response(extend))["data"]["content"]
    assert off in await by_button(fake, result, "extend")
    assert off in await by_reaction(fake, result, "⬆️")
    assert off in await by_menu(fake, result, "Upscale video")
    assert len(await pika_calls(pika)) == paid  # not one call while refused
    await admin(fake, "paid-features", {"allowed": True})
    fake.react(REQUESTER, result, "⏩")  # allowed again
    await fake.wait_for(lambda: len(results(fake)) == len(made) + 1, what="the extended video")


async def test_the_running_cap_on_every_entry_point(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    result = await delivered(fake)
    await admin(fake, "limits", {"running": 1})
    await behave(pika, stall_jobs=1)
    interaction = fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": "slow"})
    assert (await fake.wait_for_response(interaction))["type"] == 4
    await refused_everywhere(fake, result, "Videos in the making: 1, the most this server allows")


@on_both_databases
async def test_twenty_simultaneous_requests_with_a_cap_of_two_start_exactly_two(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    await behave(pika, job_seconds=30)
    interactions = [
        fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": f"fox {n}"})
        for n in range(20)
    ]
    # Requests beyond the bot's turns are held privately first; a refusal then takes the place
    # of "thinking", and a request that starts gets its public message as a follow-up.
    told = [await told_first(fake, i) for i in interactions]
    refused = [t for t in told if "the most this server allows at once (2)" in t]
    assert len(refused) == 18 and len([t for t in told if t.startswith("🎬")]) == 2
    await fake.wait_for(lambda: len(pika.jobs) >= 2, what="two jobs at Pika")
    assert len(await calls_to(pika, "/web/generate")) == 2


@on_both_databases
async def test_the_daily_quota_resets_at_the_day_boundary(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess, database: DatabaseUnderTest
) -> None:
    await admin(fake, "limits", {"daily_member": 1})
    await delivered(fake)
    assert "reached today's limit of 1 here. It resets <t:" in await by_command(fake)
    # The clock moves past midnight: today's job now belongs to yesterday.
    await database.execute("UPDATE jobs SET created_at = created_at - 86400")
    await delivered(fake, "a new day")


async def test_a_server_counts_quota_days_in_its_own_time_zone(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    wrong = await admin(fake, "timezone", {"zone": "Mars/Olympus"})
    assert wrong.startswith("⚠️ zone: 'Mars/Olympus' is not a time zone; use a name such as")
    assert "**Quota day's time zone**: `UTC` → `Asia/Tokyo`" in await admin(
        fake, "timezone", {"zone": "asia/tokyo"}
    )
    assert "**Quota day:** midnight to midnight, Asia/Tokyo" in await admin(fake, "show")
    await admin(fake, "limits", {"daily_member": 1})
    await delivered(fake)
    refusal = await by_command(fake)
    assert "(midnight, Asia/Tokyo)" in refusal
    found = re.search(r"resets <t:(\d+):R>", refusal)
    assert found is not None
    resets = datetime.fromtimestamp(int(found[1]), ZoneInfo("Asia/Tokyo"))
    assert (resets.hour, resets.minute) == (0, 0)
    assert 0 < resets.timestamp() - time.time() <= 86_400


async def test_a_daily_limit_of_zero_says_videos_are_paused(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    # An owner pauses videos with a daily limit of 0: members who had made none were told
    # they had "reached today's limit of 0", and to wait for midnight.
    assert (await admin(fake, "limits", {"daily_member": 0})).startswith("✅")
    refused = await by_command(fake)
    assert refused == (
        "⛔ Making videos is paused on this server (its daily limit per member is 0). A "
        "moderator can start it again."
    )


async def test_a_member_without_manage_server_cannot_change_settings(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    synced = next(c for c in fake.commands[GUILD_ID] if c["name"] == "pika-admin")
    assert str(synced["default_member_permissions"]) == "32"  # Manage Server
    answer = await admin(fake, "limits", {"daily_member": 500}, user=MEMBER)  # sent raw
    assert "Manage Server" in answer
    assert "Videos per member per day:** 20" in await admin(fake, "show")


async def test_usage_shows_what_is_left_and_server_totals_to_managers(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    await delivered(fake)
    mine = await fake.wait_for_response(fake.slash(REQUESTER, GENERAL, "pika", "usage"))
    assert (
        "made **1** of your **20**; **19** left. The count starts again <t:"
        in (mine["data"]["content"])
    )
    assert "Server today" not in mine["data"]["content"]
    theirs = await fake.wait_for_response(fake.slash(ADMIN, GENERAL, "pika", "usage"))
    assert "Server today: **1** (no limit)" in theirs["data"]["content"]


@on_both_databases
async def test_changes_are_audited_and_posted_to_the_log_channel(
    fake: FakeDiscord, bot: BotProcess, database: DatabaseUnderTest
) -> None:
    await admin(fake, "log-channel", {"channel": str(ART)})
    answer = await admin(fake, "limits", {"cooldown": 15})
    assert answer == "✅ **Wait between videos**: `0` → `15`"  # in words, not `cooldown_seconds`
    await admin(fake, "defaults", {"aspect_ratio": "9:16", "frame_rate": 12})

    def logged(*words: str) -> bool:
        posts = [m for m in fake.channel_messages(ART) if "🛠️" in m.content]
        return any(all(w in m.content for w in words) for m in posts)

    # Each change is posted to the log after its answer, so the last one may still be on its way.
    await fake.wait_for(
        lambda: logged("Default video options", "9:16"), what="the defaults change logged"
    )
    assert logged("Wait between videos")
    rows = await database.fetch(
        "SELECT user_id, setting, new_value, at FROM settings_audit ORDER BY id"
    )
    assert [(r[0], r[1]) for r in rows] == [
        (ADMIN, "log_channel"),
        (ADMIN, "cooldown_seconds"),
        (ADMIN, "defaults"),
    ]
    assert rows[1][2] == "15" and abs(rows[1][3] - time.time()) < 60


async def test_the_log_channel_reads_the_servers_language_the_admin_their_own(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    # A change was posted to the log channel in the language of the admin who made it: on a
    # French server, a German moderator's changes were logged in German.
    fake.guilds[GUILD_ID].preferred_locale = "fr"
    fake.locales[ADMIN] = "de"
    assert (await admin(fake, "log-channel", {"channel": str(ART)})).startswith("✅")
    answer = await admin(fake, "limits", {"cooldown": 15})
    assert answer == "✅ **Wartezeit zwischen Videos**: `0` → `15`"
    posts = await fake.wait_for(
        lambda: [m for m in fake.channel_messages(ART) if "15" in m.content],
        what="the change logged",
    )
    assert posts[0].content == (
        f"🛠️ <@{ADMIN}> a modifié les réglages de Pika :\n**Attente entre deux vidéos** : `0` → `15`"
    )


async def test_stopping_a_channel_says_where_videos_may_be_made(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    # With no channel listed every channel is allowed: "stop #general" changed nothing and
    # answered "Nothing changed", and the owner believed it stopped. Stopping the last listed
    # channel allowed every channel again, and was shown as "`[<id>]` → none".
    refused = await admin(fake, "channel", {"channel": str(GENERAL), "allowed": False})
    assert refused.startswith("⚠️ allowed: ") and "every channel" in refused
    assert f"<#{ART}>" not in refused and f"<#{GENERAL}>" in refused
    assert "**Channels:** all channels" in await admin(fake, "show")
    allowed = await admin(fake, "channel", {"channel": str(ART), "allowed": True})
    assert allowed == f"✅ **Channels**: all channels → <#{ART}>"
    stopped = await admin(fake, "channel", {"channel": str(ART), "allowed": False})
    assert stopped == f"✅ **Channels**: <#{ART}> → all channels"


async def test_a_forum_can_be_the_channel_where_videos_are_made(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    # A server whose members ask in a forum's posts: the posts follow the forum's rules, but
    # `/pika-admin channel` took text channels only, so an owner who listed channels could
    # never allow the forum, and its members were refused in every post.
    allowed = await admin(fake, "channel", {"channel": str(FORUM), "allowed": True})
    assert allowed == f"✅ **Channels**: all channels → <#{FORUM}>"
    synced = next(c for c in fake.commands[GUILD_ID] if c["name"] == "pika-admin")
    option = next(o for o in synced["options"] if o["name"] == "channel")["options"][0]
    assert {0, 2, 5, 13, 15} <= set(option["channel_types"])  # text, voice, news, stage, forum
    in_post = fake.slash(REQUESTER, FORUM_POST, "pika", "generate", {"prompt": "a fox"})
    assert "🎬 **Video**" in await told_first(fake, in_post)
    assert f"Videos can be made only in <#{FORUM}>" in await by_command(fake)
    # Another server's channel, from a crafted interaction, is still not this server's.
    other = await admin(fake, "channel", {"channel": str(STUDIO), "allowed": True})
    assert other == "⚠️ channel: was not found; pick it again"


async def test_another_servers_role_is_not_required_here(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    # A crafted interaction naming another server's role was saved: no member here could hold
    # it, and every request was refused.
    refused = await admin(fake, "role", {"role": str(ROLE_ADMIN_2)})
    assert refused == "⚠️ role: was not found; pick it again"
    assert "**Required role:** none" in await admin(fake, "show")
    assert (await admin(fake, "role", {"role": str(ROLE_MOD)})).startswith("✅")


async def test_paid_features_turned_off_reads_in_the_owners_words(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    # The change read "`paid_features`: `True` → `False`", Python's words in every language.
    fake.locales[ADMIN] = "fr"
    off = await admin(fake, "paid-features", {"allowed": False})
    assert off == "✅ **Prolonger et agrandir** : autorisé → désactivé"


async def test_help_says_what_this_server_allows_and_names_the_menus(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    # `/pika-help` offered extend and upscale on a server that turned them off, sending
    # members to a refusal, and never named the context menus that also extend and upscale.
    async def guide(locale: str = "en-US") -> str:
        fake.locales[REQUESTER] = locale
        asked = fake.slash(REQUESTER, GENERAL, "pika-help")
        return str((await fake.wait_for_response(asked))["data"]["content"])

    allowed = await guide()
    assert "react with ⏩ to extend it, ⬆️ to upscale it" in allowed
    assert "**Apps › Extend video** or **Apps › Upscale video**" in allowed
    assert "**Applications › Prolonger la vidéo**" in await guide("fr")  # as Discord names it
    assert (await admin(fake, "paid-features", {"allowed": False})).startswith("✅")
    off = await guide()
    assert "⏩" not in off and "Extend video" not in off and "react with 🔁 to re-roll it" in off
    assert "Extending and upscaling videos are turned off on this server." in off
    assert "désactivés sur ce serveur" in await guide("fr")


async def test_the_log_channel_hears_it_is_turned_off_and_the_admin_when_it_cannot_post(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    await admin(fake, "log-channel", {"channel": str(ART)})

    def logged(*words: str) -> list[Message]:
        return [
            m
            for m in fake.channel_messages(ART)
            if "🛠️" in m.content and all(w in m.content for w in words)
        ]

    await fake.wait_for(lambda: logged("Log channel"), what="the log channel's own change")
    # A moderator turns the log off before changing something: the log says so (nothing was
    # posted anywhere, and the next changes went unseen).
    await admin(fake, "log-channel")
    await fake.wait_for(lambda: logged(f"<#{ART}> → none"), what="the log turned off, logged")
    # A log channel the bot may not post in: the admin is told privately, naming it (only the
    # bot's log said so).
    fake.channels[ART].forbidden = True
    change = fake.slash(ADMIN, GENERAL, "pika-admin", "log-channel", {"channel": str(ART)})
    assert (await fake.wait_for_response(change))["data"]["content"].startswith("✅")
    await fake.wait_for(lambda: change.followups, what="the warning")
    warning = fake.messages[change.followups[0]]
    assert warning.ephemeral and f"<#{ART}>" in warning.content
    assert "could not be posted to the log channel" in warning.content


async def test_server_defaults_apply_to_new_requests(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    await admin(fake, "defaults", {"aspect_ratio": "1:1", "frame_rate": 8})
    await fake.wait_for_response(
        fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": "square", "frame_rate": 10})
    )
    create = await wait_for_call(pika, "/web/generate")
    assert create["body"]["options"]["aspectRatio"] == "1:1"  # the server's default
    assert create["body"]["options"]["frameRate"] == 10  # the member's own value wins
    shown = await admin(fake, "show")
    # In the owner's words, not Python's `{'aspect_ratio': '1:1', 'frame_rate': 8}`.
    assert "**Default video options:** Aspect ratio `1:1`, Frames per second `8`" in shown


async def test_blocked_patterns_take_no_time_and_see_through_disguises(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    refused = await admin(fake, "blocked", {"add": r"(\w)\1"})
    # Named by the option the owner gave, not by the setting it fills (`blocked_patterns`).
    # As typed: before, Python's repr, quoted, each backslash doubled.
    assert "⚠️ add: `(\\w)\\1` cannot be used" in refused
    assert (await admin(fake, "blocked", {"add": "(a+)+$"})).startswith("✅")
    assert (await admin(fake, "blocked", {"add": "nsfw"})).startswith("✅")
    # A prompt that takes a backtracking engine seconds, and another member at the same time:
    # both are answered within Discord's three seconds (the fake refuses a late answer).
    slow = fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": "a" * 28 + "!"})
    other = fake.slash(MEMBER, GENERAL, "pika", "usage")
    assert (await fake.wait_for_response(slow))["type"] == 4
    assert (await fake.wait_for_response(other))["type"] == 4
    for disguised in ("ns\u200bfw", "\uff4e\uff53\uff46\uff57", "n\u0455fw", "NS\u00adFW"):
        ask = fake.slash(MEMBER, GENERAL, "pika", "generate", {"prompt": f"a {disguised} fox"})
        callback = await fake.wait_for_response(ask)
        assert "this server does not allow (`nsfw`)" in callback["data"]["content"], disguised


async def test_a_pattern_that_matches_any_text_is_refused_naming_it(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    # A zero-width space (folded away like the disguises it unmasks), `a*` or `fox|`: each
    # matches the empty text, so it blocked every prompt of every member, and the owner was
    # told "✅". Now each is refused, naming it, and nothing is saved.
    for pattern, shown in (("\u200b", "\\u200b"), ("a*", "a*"), ("fox|", "fox|")):
        refused = await admin(fake, "blocked", {"add": pattern})
        assert f"⚠️ add: `{shown}` would block every prompt" in refused, refused
    assert "**Blocked words:** none" in await admin(fake, "show")
    assert "🎬 **Video**" in await told_first(
        fake, fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": "a fox"})
    )


async def test_a_page_of_long_changes_fits_in_one_answer_in_every_language(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    # Ten blocked phrases added one by one: each change's old and new lists are long, and a
    # page of ten was past Discord's 2,000 characters (more so in German), so `/pika-admin
    # audit` was refused and the owner saw "The application did not respond".
    for n in range(10):
        await admin(fake, "blocked", {"add": f"a rather long blocked phrase, number {n}"})
    for locale in ("en-US", "de", "fr", "pt-BR", "es-ES", "ja"):
        fake.locales[ADMIN] = locale
        audit = fake.slash(ADMIN, GENERAL, "pika-admin", "audit")
        page = (await fake.wait_for_response(audit))["data"]["content"]
        assert len(page) <= 2000 and page.count("• ") == 10, locale


async def test_a_blocked_word_to_allow_again_is_suggested_and_a_typo_is_refused(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    # With many words blocked, the owner had to retype the one to allow again exactly, and a
    # typo answered "Nothing changed" while the word stayed blocked.
    for word in ("nsfw", "gore", "gory details", "x" * 150):
        assert (await admin(fake, "blocked", {"add": word})).startswith("✅")
    typed = fake.autocomplete(ADMIN, GENERAL, "pika-admin", "blocked", "remove", "GOR")
    choices = (await fake.wait_for_response(typed))["data"]["choices"]
    assert [c["value"] for c in choices] == ["gore", "gory details"]
    everything = fake.autocomplete(ADMIN, GENERAL, "pika-admin", "blocked", "remove", "")
    assert len((await fake.wait_for_response(everything))["data"]["choices"]) == 3  # <= 100
    refused = await admin(fake, "blocked", {"remove": "gorre"})
    assert refused == (
        "⚠️ remove: `gorre` is not blocked on this server; pick the one to allow again among "
        "the suggestions as you type."
    )
    assert "gore" in await admin(fake, "show")
    assert (await admin(fake, "blocked", {"remove": "gore"})).startswith("✅")


async def test_a_negative_prompt_holding_a_blocked_word_is_refused_before_it_blocks_all(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    # An owner who blocks "gore" and, to keep it out, makes "gore" the server's default
    # negative prompt (or the other way round), or a member who avoids it in their own
    # defaults: every request was then refused as holding a blocked word the member never
    # typed. Each contradiction is now refused when it is made, naming the word.
    assert (await admin(fake, "blocked", {"add": "gore"})).startswith("✅")
    refused = await admin(fake, "defaults", {"negative_prompt": "blood, GORE, blur"})
    assert refused.startswith("⚠️ negative_prompt: holds `gore`, which is blocked here,")
    mine = fake.slash(REQUESTER, GENERAL, "pika", "settings", {"negative_prompt": "no gore"})
    answer = (await fake.wait_for_response(mine))["data"]["content"]
    assert answer.startswith("⚠️ negative_prompt: holds `gore`, which this server blocks")
    assert (await admin(fake, "blocked", {"remove": "gore"})).startswith("✅")
    assert (await admin(fake, "defaults", {"negative_prompt": "blur"})).startswith("✅")
    refused = await admin(fake, "blocked", {"add": "blur"})
    assert refused.startswith("⚠️ add: `blur` is in the server's default negative prompt")
    assert "**Blocked words:** none" in await admin(fake, "show")
    assert "🎬 **Video**" in await told_first(
        fake, fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": "a fox"})
    )
    # A word blocked after a member saved it: their refusal says where to look, as they
    # typed nothing of it (the server's default negative prompt, which would win, forgotten).
    assert (await admin(fake, "defaults", {"reset": True})).startswith("✅")
    mine = fake.slash(MEMBER, GENERAL, "pika", "settings", {"negative_prompt": "no gore"})
    assert (await fake.wait_for_response(mine))["data"]["content"].startswith("✅")
    assert (await admin(fake, "blocked", {"add": "gore"})).startswith("✅")
    asked = fake.slash(MEMBER, GENERAL, "pika", "generate", {"prompt": "a cat"})
    refused = (await fake.wait_for_response(asked))["data"]["content"]
    assert "(`gore`), in what you typed or in your saved defaults (`/pika settings`)" in refused


async def test_a_default_negative_prompt_saved_holding_a_blocked_word_is_flagged_and_named(
    fake: FakeDiscord, database: DatabaseUnderTest, bot: BotProcess
) -> None:
    # A default negative prompt holding a blocked word, saved before such contradictions
    # were refused: every request was refused as holding "something this server does not
    # allow", in what the member typed or their saved defaults (neither), and `show` gave no
    # sign of it.
    settings = GuildSettings(
        blocked_patterns=["gore"], defaults=DefaultOptions(negative_prompt="blood, gore")
    )
    await stored_as_before(database, settings)
    shown = await admin(fake, "show")
    assert (
        "**Default video options:** Avoid `blood, gore` ⚠️ Its negative prompt holds `gore`, "
        "which is blocked here, so every request is refused: change it with "
        "`/pika-admin defaults`"
    ) in shown
    refused = await by_command(fake)
    assert refused == (
        "⛔ This server's default negative prompt holds `gore`, which the server also blocks, "
        "so every request here is refused. A moderator must change the default "
        "(`/pika-admin defaults`) or allow the word again (`/pika-admin blocked remove`)."
    )
    # A member who types a negative prompt of their own carries no default: their request
    # passes, and one that holds the word is refused as their own.
    mine = {"prompt": "a fox", "negative_prompt": "blur"}
    asked = fake.slash(REQUESTER, GENERAL, "pika", "generate", mine)
    assert "🎬 **Video**" in await told_first(fake, asked)
    assert (await admin(fake, "defaults", {"negative_prompt": "blood"})).startswith("✅")
    assert "⚠️" not in await admin(fake, "show")


async def test_show_warns_of_a_deleted_role_and_deleted_channels(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    # The required role deleted stops every member; the allowed channels deleted, every video;
    # the log channel deleted, every post of changes. `show` gave their ids as if all was well
    # (Discord draws them as "deleted-role" and "unknown", if at all).
    for sub, options in (
        ("role", {"role": str(ROLE_MOD)}),
        ("channel", {"channel": str(ART), "allowed": True}),
        ("log-channel", {"channel": str(ART)}),
    ):
        assert (await admin(fake, sub, options)).startswith("✅")
    assert "⚠️" not in await admin(fake, "show")
    fake.delete_role(ROLE_MOD)
    fake.delete_channel(ART)
    shown = await admin(fake, "show")  # the gateway gives the deletions first, in order
    assert f"<@&{ROLE_MOD}> ⚠️ This role no longer exists, so no member can make videos" in shown
    assert f"<#{ART}> ⚠️ None of them exists any more, so videos can be made nowhere" in shown
    assert f"<#{ART}> ⚠️ This channel no longer exists, so changes are posted nowhere" in shown


async def test_direction_controls_in_member_text_reorder_nothing_around_it(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    # A right-to-left override in a blocked word, a negative prompt or a prompt made the
    # bot's own words after it on the line read reversed: in `show`, in the log channel, in a
    # member's refusal and in the public working message.
    override = "\u202e"
    assert (await admin(fake, "blocked", {"add": f"bad{override}word"})).startswith("✅")
    assert "`badword`" in await admin(fake, "show")
    mine = fake.slash(REQUESTER, GENERAL, "pika", "settings", {"negative_prompt": f"x{override}y"})
    assert "Avoid: `xy`" in (await fake.wait_for_response(mine))["data"]["content"]
    refused = await by_command_with(fake, f"a badword{override} fox")
    assert "(`badword`)" in refused and override not in refused
    asked = fake.slash(MEMBER, GENERAL, "pika", "generate", {"prompt": f"a fox{override} ok"})
    public = await told_first(fake, asked)
    assert "“a fox ok”" in public


async def stored_as_before(database: DatabaseUnderTest, settings: GuildSettings) -> None:
    """Write the server's settings straight into the database, as a bot of an earlier version
    (or a change by hand) left them: today's rules never see them on the way in."""
    await database.execute(
        "INSERT INTO guild_settings (guild_id, data, updated_at) VALUES (?, ?, ?)",
        GUILD_ID,
        settings.model_dump_json(),
        time.time(),
    )


async def by_command_with(fake: FakeDiscord, prompt: str) -> str:
    """Ask for a video with `prompt`; return the private refusal."""
    interaction = fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": prompt})
    callback = await fake.wait_for_response(interaction)
    assert callback["data"]["flags"] == 64, callback
    return str(callback["data"]["content"])


@on_both_databases
async def test_long_lists_of_settings_fit_in_one_answer(
    fake: FakeDiscord, bot: BotProcess, database: DatabaseUnderTest
) -> None:
    # A server that blocks a hundred words (the most it may) and allows videos in a hundred
    # channels: the owner's `show` and a member's refusal each fit in one message. Past
    # Discord's 2,000 characters the answer was refused, and the owner and the member saw
    # "The application did not respond".
    settings = GuildSettings(
        allowed_channels=list(range(10**18, 10**18 + 100)),
        blocked_patterns=[f"blocked phrase number {n}" for n in range(100)],
        defaults=DefaultOptions(negative_prompt="blur " * 200),
    )
    await stored_as_before(database, settings)
    shown = await admin(fake, "show")
    assert "blocked phrase number 0" in shown and f"<#{10**18}>" in shown
    assert "**Quota day:** midnight to midnight, UTC" in shown  # nothing after the lists is lost
    # The rest of each list is counted: each shown, or among the "… and N more".
    channels, patterns = shown.split("**Blocked words:**")
    for text, item in ((channels, "<#"), (patterns, "blocked phrase")):
        more = re.search(r"… and (\d+) more", text)
        assert more is not None, text
        assert text.count(item) + int(more[1]) == 100
    refusal = await by_command(fake)
    assert f"Videos can be made only in <#{10**18}>" in refusal
