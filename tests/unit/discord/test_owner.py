"""The owner's texts: the status view and the audit's pages."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import discord
import pytest

from bot.discord.catalogues import LANGUAGES
from bot.discord.owner import AUDIT_PAGE, audit_page, audit_text, status_text
from bot.discord.wording import MESSAGES, say
from bot.guardrails import GuildSettings
from bot.ops.report import KindDay, StatusReport
from bot.pika.health import PikaProblem, PikaState
from bot.pika.kinds import KINDS
from bot.storage import Change


def report(**changes: object) -> StatusReport:
    values: dict[str, object] = {
        "pika_state": PikaState.UNREACHABLE,
        "pika_since": 1_700_000_000.0,
        "pika_problem": PikaProblem("no answer (ConnectError)", "/web/generate", 1_700_000_100.0),
        "waiting": 1,
        "running": 2,
        "waiting_everywhere": 3,
        "running_everywhere": 4,
        "day_started": datetime(2026, 5, 4, tzinfo=UTC),
        "kinds": [
            KindDay("generate", 5, 3, 1, 1, 0, 42.4, {"pika_failed": 1, "timed_out": 1}),
            KindDay("upscale", 0, typical_seconds=400.0),
        ],
        "changes": [Change(7, "defaults", "{}", '{"aspect_ratio":"`9:16`"}', 1_700_000_200.0)],
    }
    return StatusReport(**(values | changes))  # type: ignore[arg-type]


def test_the_status_view_says_each_part_in_words() -> None:
    text = status_text(report())
    assert "🔴 Pika does not answer (since <t:1700000000:R>)" in text
    assert "Last Pika error: no answer (ConnectError) on `/web/generate`, <t:1700000100:R>" in text
    assert "2 running, 1 waiting here (4 running, 3 waiting across the bot)" in text
    assert "**Today** (since <t:1777852800:f>)" in text
    assert (
        "• Video: 5 asked, 3 delivered, 1 failed (failed at Pika ×1), 1 timed out; typically 42 s"
    ) in text
    assert "Typical durations of other kinds: Upscale 6.7 min." in text
    # The setting by its name in words, the values with no backtick to break their spans.
    assert "<@7> set **Default video options** from none to Aspect ratio `\u02cb9:16\u02cb`" in text


def test_a_quiet_status_view() -> None:
    text = status_text(report(pika_state=PikaState.OK, pika_problem=None, kinds=[], changes=[]))
    assert "🟢 Pika answers" in text
    assert "No Pika error since the bot started." in text
    assert "• No jobs yet." in text and "• None yet." in text


def test_audit_pages() -> None:
    changes = [Change(1, "cooldown_seconds", str(n), str(n + 1), 1e9 + n) for n in range(3)]
    text = audit_text(changes, 1)
    assert text.splitlines()[0] == "**Settings changes**, newest first (page 2):"
    assert len(text.splitlines()) == 4
    assert audit_text([], 0) == "No setting has been changed yet."
    long = Change(1, "blocked_patterns", "[]", '["' + "x" * 200 + '"]', 1e9)
    assert "…" in audit_text([long], 0) and len(audit_text([long], 0)) < 200


async def test_the_pager_asks_one_row_more_to_know_if_an_older_page_follows() -> None:
    asked: list[tuple[int, int]] = []

    async def fetch(limit: int, offset: int) -> list[Change]:
        asked.append((limit, offset))
        return [Change(1, "x", "1", "2", 1e9)] * min(limit, 11 - offset)

    text, view = await audit_page(fetch, 0)
    assert asked == [(AUDIT_PAGE + 1, 0)]
    assert text.count("• ") == AUDIT_PAGE
    newer, older = view.children
    assert isinstance(newer, discord.ui.DynamicItem) and isinstance(older, discord.ui.DynamicItem)
    assert newer.item.disabled and not older.item.disabled
    assert older.item.custom_id == "pika:audit:older:1"  # the page it turns to, restart or not


async def test_the_owner_reads_status_and_audit_in_their_language() -> None:
    text = status_text(report(), "fr")
    assert text.startswith("**État du bot Pika**\n🔴 Pika ne répond pas")
    assert "• Vidéo : 5 demandées, 3 livrées" in text
    assert "(échec chez Pika ×1)" in text  # why, in words, not `pika_failed`
    assert "a changé **Options vidéo par défaut** de aucun" in text  # not `defaults`

    async def fetch(limit: int, offset: int) -> list[Change]:
        return [Change(1, "x", "1", "2", 1e9)] * min(limit, 11 - offset)

    page, view = await audit_page(fetch, 0, "de")
    assert page.startswith("**Änderungen der Einstellungen**, neueste zuerst (Seite 1)")
    labels = [b.item.label for b in view.children if isinstance(b, discord.ui.DynamicItem)]
    assert labels == ["Neuere", "Ältere"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_busy_day_and_a_page_of_long_changes_fit_one_message(lang: str) -> None:
    # Every kind asked on a day Pika failed now and then, and settings changes of long lists:
    # the status view was 2,000 characters and more (in Spanish from a dozen kinds with one
    # failure each), and a page of the audit too (in German), and Discord refused the answer.
    long = Change(
        900_000_000_000_000_404,
        "daily_quota_per_user",
        json.dumps(["x" * 200] * 3),
        json.dumps(["y" * 200] * 3),
        1e9,
    )
    failures = {"pika_server": 120, "pika_rate_limited": 45, "pika_outcome_unknown": 3}
    busy = [KindDay(kind, 500, 300, 160, 2, 12, 95.0, failures) for kind in KINDS]
    text = status_text(report(kinds=busy, changes=[long] * 5), lang)
    assert len(text) <= 2000
    assert text.count("<@900000000000000404>") == 5  # the changes are all there
    shown = text.count("• ") - 5
    assert shown >= 5 and say("settings.more", lang, count=len(KINDS) - shown) in text
    for setting in GuildSettings.model_fields:  # under each setting's name in the language
        page = [replace(long, setting=setting)] * AUDIT_PAGE
        assert len(audit_text(page, 3, lang)) <= 2000, setting


def test_the_audit_shows_values_in_words_as_the_change_said_them() -> None:
    # The audit showed the stored JSON: channel and role ids as numbers, `True` and `False`,
    # a dict of English keys for the defaults, while the change and the log post said them
    # in words.
    changes = [
        Change(1, "log_channel", "null", "123", 1e9),
        Change(1, "paid_features", "true", "false", 1e9),
        Change(1, "defaults", "{}", '{"aspect_ratio":"1:1","frame_rate":8}', 1e9),
        Change(1, "allowed_channels", "[5]", "[]", 1e9),
        Change(1, "required_role", "null", "77", 1e9),
        Change(1, "daily_quota_server", "10", "null", 1e9),
        Change(1, "blocked_patterns", '["gore"]', '["gore", "nsfw"]', 1e9),
    ]
    lines = audit_text(changes, 0, "fr").split("\n")[1:]
    said = [line.split("** de ", 1)[1] for line in lines]
    assert said == [
        "aucun à <#123>",
        "autorisé à désactivé",
        "aucun à Format `1:1`, Images par seconde `8`",
        "<#5> à tous les salons",
        "aucun à <@&77>",
        "`10` à sans limite",
        "`gore` à `gore`, `nsfw`",
    ]
    # A long blocked word is cut to fit its page, never hidden behind "and 1 more".
    long = Change(1, "blocked_patterns", "[]", json.dumps(["x" * 100]), 1e9)
    assert f"`{'x' * 24}…`" in audit_text([long], 0)


def test_every_reason_a_job_fails_for_has_a_word_in_the_status_view() -> None:
    # A reason without one is shown as its key (`pika_outcome_unknown`), English code.
    told_otherwise = {"line", "no_reason", "timed_out", "dm", "dm_link", "dm_long", "dm_local"}
    told_otherwise |= {"pika_rejected_upscale"}  # pika_rejected's words for an upscale
    reasons = {k.removeprefix("failure.") for k in MESSAGES if k.startswith("failure.")}
    assert {r for r in reasons - told_otherwise if f"why.{r}" not in MESSAGES} == set()
