"""Keys into words, in the member's language: `say`, `explain` for member errors, `title` for
kinds, and `shown`/`code` that make member text harmless.

Other layers never write member-facing sentences: they raise `MemberError(key, **params)` or
record a job's `failure` key, and this module turns keys into words. The English sentences are
the catalogue `MESSAGES` (`messages.py`, re-exported here); the other languages live in
`locales/<language>.toml` (see `catalogues.py`); a key missing there falls back to English.
"""

from __future__ import annotations

import re
from typing import Any

import discord
import regex

from bot.discord.catalogues import ENGLISH, language_of, translations
from bot.discord.messages import MESSAGES
from bot.errors import MemberError

__all__ = [
    "MESSAGES",
    "code",
    "explain",
    "language_of",
    "one_line",
    "option_name",
    "say",
    "setting_title",
    "shown",
    "title",
]


# Parameters that carry what a member typed (or an admin set): shown, never interpreted.
MEMBER_PARAMS = frozenset({"filename", "value"})
# Shown inside `code`: a pattern, the regex engine's reason for refusing one (it quotes it), and
# a job id the member typed. A code span shows a backslash as it is: text escaped as `shown`
# would read `my\_fox` there.
CODE_PARAMS = frozenset({"pattern", "detail", "job_id"})

# The icon that opens the answer to each family of member errors.
ICONS = {
    "input": "⚠️",
    "rule": "⚠️",
    "refusal": "⛔",
    "control": "⛔",
    "repeat": "🔁",
    "restarting": "🔄",
}


def say(key: str, lang: str = ENGLISH, /, **params: Any) -> str:
    """The sentence `key` names, in the language `lang`, filled with `params`."""
    text = translations(lang).messages.get(key) or MESSAGES[key]
    return text.format(**params)


# Unicode's controls of writing direction (embeddings, overrides, isolates, marks): in member
# text they reorder what follows them on the line, so that the bot's own words around it (who
# changed what, in the log channel) read reversed or in another order.
DIRECTION_CONTROLS = str.maketrans(
    dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C])
)


# Characters that show nothing, or garble what follows them: C0 and C1 controls (a NUL, a bell,
# a terminal's escape sequence; those that are white space become a space instead), halves of a
# character (unpaired surrogates: no message can carry one, its JSON is refused) and format
# characters (zero-width spaces, a soft hyphen, a byte-order mark, invisible operators), but for
# the joiners emoji and some scripts are written with (ZWJ, ZWNJ) and the tags of a flag emoji.
UNSEEN = regex.compile(r"(?V1)[[\p{Cc}\p{Cf}\p{Cs}]--[\s\u200c\u200d\U000E0020-\U000E007F]]")


def one_line(text: str) -> str:
    """Text on one line, without the controls that would reorder the words around it, nor any
    character that shows nothing (`UNSEEN`): member text where Discord shows no markdown (a
    suggestion's name), and under `shown` and `code`."""
    text = str(text)
    if not text.isprintable():  # nothing to drop in most text: no pass of the expression
        text = UNSEEN.sub("", text.translate(DIRECTION_CONTROLS))
    return " ".join(text.split())


# What Discord makes more of than text even once markdown is escaped: a link (`https://`,
# `steam://`: any scheme), which it also unfurls under the bot's message into a preview of the
# page, and a server's invite (`discord.gg/...`, no scheme needed), which it shows as a card
# with a Join button. A zero-width space after the scheme or the name breaks the link and
# shows nothing, as `escape_mentions` does after an `@`.
LINKS = re.compile(r"(?i)(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*(?=:/)|\bdiscord(?:app)?(?=\.\w)")
ZERO_WIDTH = "\u200b"


def shown(text: str, limit: int = 300, *, most: int | None = None) -> str:
    """Member text as plain words in a message: on one line (no fake "Status:" line), cut to
    `limit`, markdown (headings, masked links, emphasis) and mentions escaped, no link or
    invite Discord would follow or unfurl, no `<#channel>`, `</command:id>`, `<t:time>` or
    `<:emoji:id>` shown as what it names, and no control of writing direction. With `most`,
    the words are cut further (and marked "…") until the escaped text fits in `most`
    characters: cut after escaping, a lone backslash would end it, and nothing would say it
    was cut."""
    line = one_line(text)
    plain = _plain(line[:limit] + ("…" if len(line) > limit else ""))
    if most is None or len(plain) <= most:
        return plain
    # The most words that fit once escaped (escaping only adds, so fewer words never take more).
    low, high = 0, min(len(line), limit)
    while low < high:
        middle = (low + high + 1) // 2
        if len(_plain(line[:middle] + "…")) <= most:
            low = middle
        else:
            high = middle - 1
    return _plain(line[:low] + "…")


# Markdown's characters, escaped wherever they are. discord.py's `escape_markdown` escapes a
# masked link as a whole, with one backslash before its `[`, and leaves what it holds as it is:
# `[**x** ||y||](z)` kept its bold and its spoiler, and from the first `[` to the last `)` of a
# prompt everything did. `<` too: `<#channel>`, `</command:id>`, `<t:time>`, `<:emoji:id>`.
MARKDOWN = re.compile(r"[\\*_~|`\[\]<]")
# What is markdown only where a line starts: a heading, a quote, a list, small text (`-#`).
LINE_START = re.compile(r"^(\s*)(#|>|-|\d+(?=\.\s))")


def _plain(line: str) -> str:
    """One line of member text escaped (see `shown`)."""
    unlinked = LINKS.sub(lambda match: match[0] + ZERO_WIDTH, line)
    escaped = MARKDOWN.sub(lambda match: "\\" + match[0], unlinked)
    # A numbered list is escaped at its dot (`1\. `): a backslash before a digit escapes nothing.
    escaped = LINE_START.sub(
        lambda m: m[1] + (m[2] + "\\" if m[2][0].isdigit() else "\\" + m[2]), escaped
    )
    return discord.utils.escape_mentions(escaped)


def code(text: str, limit: int = 200) -> str:
    """Text to show inside a `code` span: one line, cut, no backtick to close the span early,
    no control of writing direction, and each other character that would show nothing written
    by its code (a zero-width space as `\\u200b`), so that an owner sees what a pattern holds."""
    steady = str(text).translate(DIRECTION_CONTROLS)  # dropped, as everywhere
    line = one_line(UNSEEN.sub(lambda m: f"\\u{ord(m[0]):04x}", steady))[:limit]
    return line.replace("`", "\u02cb") or " "


def _safe(params: dict[str, Any]) -> dict[str, Any]:
    """Params with member text made harmless."""
    return {
        name: shown(value, 100)
        if name in MEMBER_PARAMS
        else code(value)
        if name in CODE_PARAMS
        else value
        for name, value in params.items()
    }


def option_name(option: str, lang: str = ENGLISH) -> str:
    """An option as the member's Discord shows it: in their language (`vidéo_url` in French),
    since options are translated at sync; anything that is no option stays as it is."""
    return translations(lang).names.get(option, option)


def permission_name(permission: str, lang: str = ENGLISH) -> str:
    """A permission (`manage_guild`) as Discord's settings name it (Manage Server), in `lang`
    where the catalogue has it."""
    key = f"permission.{permission}"
    if key in MESSAGES:
        return say(key, lang)
    # Discord's names for the rest: guild is "server" everywhere it shows.
    return permission.replace("guild", "server").replace("_", " ").title()


def choice_list(choices: Any, lang: str = ENGLISH) -> str:
    """The choices of a rule as the member's Discord shows them: each quoted, by its name in
    the member's language where the commands translate it, listed the language's way."""
    if isinstance(choices, str):  # said by an older bot, already listed
        return choices
    names = translations(lang).choices
    quoted = [f"'{names.get(str(choice), str(choice))}'" for choice in choices]
    return say("rule.choice_separator", lang).join(quoted)


def _named(params: dict[str, Any], lang: str) -> dict[str, Any]:
    """A rule's params with the options it names (`option`, its `_url` twin, and an `other`
    one: `speech_start` in a rule of `speech_end`) as the member sees them (the twin's
    translation is not always the option's plus `_url`: `動画のurl` in Japanese), and its
    choices listed in the member's language."""
    named = dict(params)
    if "choices" in params:
        named["choices"] = choice_list(params["choices"], lang)
    if "other" in params:
        named["other"] = option_name(str(params["other"]), lang)
    if "option" in params:
        option = str(params["option"])
        named["option"] = option_name(option, lang)
        named["option_url"] = option_name(f"{option}_url", lang)
    return named


def explain(error: MemberError, lang: str = ENGLISH) -> str:
    """The whole answer to a member error, with its icon, in the member's language."""
    family = error.key.split(".", 1)[0]
    if error.key == "input":
        text = "\n".join(_line(o, rule, p, lang) for o, rule, p in error.params["problems"])
    else:
        params = _safe(error.params)
        if "rules" in error.params:
            # Rules of Pika's that a control's request breaks: said as the member's rules are.
            rules = error.params["rules"]
            params["reason"] = "; ".join(_line(o, rule, p, lang) for o, rule, p in rules)
        text = say(error.key, lang, **params)
    return f"{ICONS.get(family, '⚠️')} {text}"


def _line(option: str, rule: str, params: dict[str, Any], lang: str) -> str:
    """One broken rule, "option: rule", in the member's language."""
    return say(
        "input.line",
        lang,
        # Options that break a rule together come as one, "image, video".
        option=", ".join(option_name(o, lang) for o in option.split(", ")),
        rule=say(rule, lang, **_named(_safe(params), lang)),
    )


def title(kind: str, lang: str = ENGLISH) -> str:
    """What a kind of job is called."""
    key = f"kind.{kind}"
    return say(key, lang) if key in MESSAGES else kind


def setting_title(setting: str, lang: str = ENGLISH) -> str:
    """What a server setting is called (its stored name, `cooldown_seconds`, is no word of the
    owner's language)."""
    key = f"setting.{setting}"
    return say(key, lang) if key in MESSAGES else setting
