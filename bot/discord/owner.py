"""What server owners read: the `/pika-admin status` text and the pages of the settings audit,
with the buttons that turn them (`AuditButton`, registered at start-up like a result's)."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Self

import discord

from bot.discord.catalogues import ENGLISH
from bot.discord.wording import MESSAGES, code, say, setting_title, title
from bot.ops.report import KindDay, StatusReport
from bot.storage import Change

AUDIT_PAGE = 10
# An old or new value longer than this is cut, so that a page of ten changes of long lists fits
# Discord's 2,000 characters in every language, under the longest setting's name (at 60, a
# German page was 2,159; at 45, a French one 1,999).
AUDIT_VALUE_CHARS = 40
STATUS_VALUE_CHARS = 30  # the status view's latest changes are a glance: the audit has them whole
MESSAGE_CHARS = 2000  # Discord refuses a longer message, and the owner sees no answer
# Characters of `show` given to each list, so that the whole answer fits Discord's 2,000 even
# with a hundred blocked patterns and as many channels (past it, Discord refuses the answer);
# a changed value gets as many as a list of channels.
SHOWN_CHANNELS, SHOWN_PATTERNS, SHOWN_DEFAULTS = 400, 500, 300

# One page of the audit, newest first: `limit` changes from `offset`.
AuditPage = Callable[[int, int], Awaitable[list[Change]]]


def when(moment: float, style: str = "R") -> str:
    """A Discord timestamp: each reader sees it in their own time zone and language."""
    return f"<t:{int(moment)}:{style}>"


def status_text(report: StatusReport, lang: str = ENGLISH) -> str:
    """The whole status view, in the admin's language."""
    since = when(report.pika_since) if report.pika_since else say("status.never", lang)
    state = say(f"status.pika.{report.pika_state.value}", lang, since=since)
    lines = [say("status.title", lang), state]
    problem = report.pika_problem
    if problem is not None:
        lines.append(
            say(
                "status.pika.last_error",
                lang,
                text=problem.text,
                route=problem.route,
                at=when(problem.at),
            )
        )
    else:
        lines.append(say("status.pika.no_error", lang))
    lines.append(
        say(
            "status.jobs_now",
            lang,
            running=report.running,
            waiting=report.waiting,
            running_all=report.running_everywhere,
            waiting_all=report.waiting_everywhere,
        )
    )
    lines.append(say("status.today", lang, since=when(report.day_started.timestamp(), "f")))
    today = [k for k in report.kinds if k.asked]
    days = [kind_line(k, lang) for k in today]
    if not today:
        lines.append(say("status.no_jobs_today", lang))
    tail: list[str] = []
    others = [k for k in report.kinds if not k.asked and k.typical_seconds is not None]
    if others:
        typical = ", ".join(
            f"{title(k.kind, lang)} {_seconds(k.typical_seconds, lang)}" for k in others
        )
        tail.append(say("status.typical_other", lang, typical=typical))
    tail.append(say("status.changes", lang))
    tail.extend(change_line(c, lang, STATUS_VALUE_CHARS) for c in report.changes)
    if not report.changes:
        tail.append(say("status.no_changes", lang))
    return _fitted(lines, days, tail, lang)


def _fitted(head: list[str], middle: list[str], tail: list[str], lang: str) -> str:
    """The lines as one message, within Discord's limit: when all of them do not fit, as many
    of `middle` (a busy day: every kind asked, with its failures) as leave room for the rest,
    then how many more."""
    text = "\n".join([*head, *middle, *tail])
    if len(text) <= MESSAGE_CHARS:
        return text
    more = say("settings.more", lang, count=len(middle))  # the longest "more" there can be
    room = MESSAGE_CHARS - len("\n".join([*head, *tail, more])) - 1
    kept: list[str] = []
    for line in middle:
        if len(line) + 1 > room:
            break
        kept.append(line)
        room -= len(line) + 1
    more = say("settings.more", lang, count=len(middle) - len(kept))
    return "\n".join([*head, *kept, more, *tail])[:MESSAGE_CHARS]


def kind_line(day: KindDay, lang: str = ENGLISH) -> str:
    """One kind's day: asked, delivered, failed (and why), timed out; its typical duration."""
    # Why they failed; time-outs have a count of their own.
    why = ", ".join(
        f"{_why(key, lang)} ×{n}" for key, n in sorted(day.failures.items()) if key != "timed_out"
    )
    return say(
        "status.kind_line",
        lang,
        title=title(day.kind, lang),
        asked=day.asked,
        delivered=day.delivered,
        failed=day.failed + day.undeliverable,
        timed_out=day.timed_out,
        why=say("status.why", lang, why=why) if why else "",
        typical=_seconds(day.typical_seconds, lang),
    )


def change_line(change: Change, lang: str = ENGLISH, chars: int = AUDIT_VALUE_CHARS) -> str:
    """Who changed what, from what to what (each cut to `chars`), when."""
    return say(
        "status.change_line",
        lang,
        at=when(change.at),
        user=change.user_id,
        setting=setting_title(change.setting, lang),
        old=_value(change.setting, change.old_value, lang, chars),
        new=_value(change.setting, change.new_value, lang, chars),
    )


def audit_text(changes: Sequence[Change], page: int, lang: str = ENGLISH) -> str:
    """One page of the audit."""
    if not changes and page == 0:
        return say("audit.empty", lang)
    lines = [say("audit.title", lang, page=page + 1)]
    lines.extend(change_line(c, lang) for c in changes)
    return "\n".join(lines)


def _why(failure: str, lang: str) -> str:
    """Why jobs failed, in a word of the owner's language (the key itself for one unknown)."""
    key = f"why.{failure}"
    return say(key, lang) if key in MESSAGES else failure


def _seconds(seconds: float | None, lang: str) -> str:
    if seconds is None:
        return say("status.typical_unknown", lang)
    if seconds < 120:
        return say("status.seconds", lang, seconds=round(seconds))
    return say("status.minutes", lang, minutes=round(seconds / 60, 1))


def _value(setting: str, text: str | None, lang: str, chars: int) -> str:
    """A stored JSON value of `setting` as the owner reads it (as the change and the log post
    said it), cut to fit."""
    if text is None:
        return say("settings.none", lang)
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    return setting_text(setting, value, lang, chars)


def setting_text(name: str, value: Any, lang: str, chars: int = SHOWN_CHANNELS) -> str:
    """A setting's value as the owner reads it, within about `chars` characters: channels and
    roles as their mentions (never pinging: the answers allow no mention), no list of channels
    as all of them, allowed or off rather than Python's True and False, the default video
    options by their names, other values in a code span."""
    # A list leaves room for its "and N more", so that it too stays within `chars`.
    room = chars
    if isinstance(value, list):
        room = max(1, chars - len(say("settings.more", lang, count=len(value))) - 1)
    if name == "allowed_channels" and isinstance(value, list):
        return listed([f"<#{c}>" for c in value], room, lang) or say("settings.all_channels", lang)
    if name == "daily_quota_server" and value is None:
        return say("settings.no_limit", lang)
    if isinstance(value, bool):  # not Python's True and False, in any language
        return say("settings.allowed" if value else "settings.off", lang)
    if isinstance(value, int) and name == "log_channel":
        return f"<#{value}>"
    if isinstance(value, int) and name == "required_role":
        return f"<@&{value}>"
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    if name == "defaults" and isinstance(value, dict):
        options = {k: v for k, v in value.items() if v is not None}
        return options_text(options, lang, chars) if options else say("settings.none", lang)
    if value in (None, [], {}):
        return say("settings.none", lang)
    if name == "blocked_patterns" and isinstance(value, list):
        # Each pattern cut so that its span (two backticks more) fits: at least one is shown.
        return listed([_code(str(p), max(1, room - 2)) for p in value], room, lang)
    return _code(str(value), chars)


def _code(text: str, chars: int) -> str:
    """Text in a code span, cut to `chars` (marked with "…")."""
    shown = code(text, chars + 1)
    return f"`{shown if len(shown) <= chars else shown[: chars - 1] + '…'}`"


def listed(items: list[str], budget: int, lang: str) -> str:
    """The items, comma-separated, as many as fit in `budget` characters, then how many more."""
    shown: list[str] = []
    used = 0
    for item in items:
        if used + len(item) > budget:
            more = say("settings.more", lang, count=len(items) - len(shown))
            return f"{', '.join(shown)} {more}".strip()
        shown.append(item)
        used += len(item) + 2
    return ", ".join(shown)


def options_text(options: dict[str, Any], lang: str, budget: int = SHOWN_DEFAULTS) -> str:
    """The server's default video options in the owner's words (`Motion` `2`, not Python's
    `{'motion': 2}`), within `budget` characters of values."""
    each = max(1, budget // max(1, len(options)))
    return ", ".join(
        f"{say(f'mine.{name}', lang)} {_code(str(v), each)}" for name, v in options.items()
    )


AUDIT_ID = "pika:audit:{step}:{page}"  # a pager button: which way, and the page it turns to


class AuditButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=AUDIT_ID.format(step="(?P<step>newer|older)", page="(?P<page>[0-9]{1,6})"),
):
    """Newer or Older under a page of the audit. The page it turns to is in its custom_id, so
    it turns pages after a restart and however long the page stayed open (a view kept in the
    process's memory answered nothing then: "This interaction failed")."""

    def __init__(
        self, step: str, page: int, lang: str = ENGLISH, *, disabled: bool = False
    ) -> None:
        label = say("audit.previous" if step == "newer" else "audit.next", lang)
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=AUDIT_ID.format(step=step, page=page),
                disabled=disabled,
            )
        )
        self.page = page

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        """Rebuild the button from its custom_id."""
        return cls(match["step"], int(match["page"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Hand the press to whoever listens for `pika_audit_page` (the admin cog, which checks
        Manage Server again)."""
        interaction.client.dispatch("pika_audit_page", interaction, self.page)


async def audit_page(
    fetch: AuditPage, page: int, lang: str = ENGLISH
) -> tuple[str, discord.ui.View]:
    """A page of the audit, and Newer and Older under it, in the admin's language."""
    changes, has_next = await _page(fetch, page)
    view = discord.ui.View(timeout=None)
    view.add_item(AuditButton("newer", max(0, page - 1), lang, disabled=page == 0))
    view.add_item(AuditButton("older", page + 1, lang, disabled=not has_next))
    return audit_text(changes, page, lang), view


async def _page(fetch: AuditPage, page: int) -> tuple[list[Change], bool]:
    """A page of changes, and whether an older page follows (one more row is asked for)."""
    found = await fetch(AUDIT_PAGE + 1, page * AUDIT_PAGE)
    return found[:AUDIT_PAGE], len(found) > AUDIT_PAGE
