"""Blocked patterns, matched in bounded time on text that cannot hide from them.

Patterns run on RE2 (google-re2), which matches in time linear in the text: `(a+)+$` against a
long prompt takes microseconds, not the seconds of a backtracking engine, so no pattern can
stall the event loop. A pattern RE2 cannot take (back-references, look-arounds) is refused
when it is added, naming it.

Text is folded before matching, so that `ns\\u200bfw` (a zero-width space), `nsfw` in
fullwidth letters and `nsfw` with a Cyrillic s all read `nsfw`: Unicode NFKC (fullwidth and
compatibility forms), case folding, format characters and every character Unicode says a
renderer may show as nothing removed (its Default_Ignorable_Code_Point property: zero-width
spaces and joiners, soft hyphens, but also the combining grapheme joiner, variation selectors
and Hangul fillers, which are not format characters; read with the `regex` module, as Python's
`unicodedata` lacks the property),
and a small table of the Cyrillic and Greek letters that look like Latin
ones (the common part of Unicode's confusables). Patterns are folded the same way, except
that ASCII is left alone (so `\\S` stays `\\S`) and case is ignored by the engine.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from typing import Any

import re2
import regex

# Cyrillic and Greek letters that look like Latin ones, after case folding.
CONFUSABLES = str.maketrans(
    {
        "а": "a", "в": "b", "ԁ": "d", "е": "e", "ё": "e", "һ": "h", "н": "h", "і": "i",
        "ї": "i", "ј": "j", "к": "k", "ӏ": "l", "м": "m", "о": "o", "р": "p", "ԛ": "q",
        "ѕ": "s", "т": "t", "у": "y", "ѵ": "v", "ԝ": "w", "х": "x", "с": "c", "ɡ": "g",
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
        "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ϲ": "c", "ω": "w", "ı": "i",
    }
)  # fmt: skip
MAX_TEXT = 4000  # characters of one text looked at (prompts are at most 1000)
# Format characters (as before) and every default-ignorable code point.
INVISIBLE = regex.compile(r"[\p{Cf}\p{Default_Ignorable_Code_Point}]+")


def fold(text: str) -> str:
    """Text as patterns see it: NFKC, case-folded, nothing invisible, look-alikes Latin."""
    text = unicodedata.normalize("NFKC", text[:MAX_TEXT]).casefold()
    return INVISIBLE.sub("", text).translate(CONFUSABLES)


def fold_pattern(pattern: str) -> str:
    """A pattern folded like text, leaving ASCII (its syntax) to the engine."""
    pattern = INVISIBLE.sub("", unicodedata.normalize("NFKC", pattern))
    return "".join(c if c.isascii() else c.casefold() for c in pattern).translate(CONFUSABLES)


# What a pattern costs to match, as RE2's program size: a pattern RE2's fast engine cannot hold
# (`.{1000}z`, `(\w+\s?){1000}z`) runs on its slower one, still linear but at about a
# microsecond per step of the program for each 1,000 characters: 150 ms a prompt for the latter,
# which a hundred of them made 15 s of the event loop, for every server's members. One pattern,
# and all of a server's together, are bounded (`\p{L}+`, every letter of every script, is 1,202).
MAX_PROGRAM = 5_000
MAX_PROGRAM_TOTAL = 20_000


def _options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # a refused pattern is reported to the admin, not to stderr
    options.max_mem = 8 << 20
    return options


class PatternError(ValueError):
    """The engine cannot take a pattern; the message names it and says why, in English (for the
    log); `key` and `params` say it in the wording catalogue (`rule.*`), for the owner."""

    def __init__(self, key: str, english: str, **params: Any) -> None:
        super().__init__(english.format(**params))
        self.key = key
        self.english = english
        self.params = params


@functools.lru_cache(maxsize=1024)
def compiled(pattern: str) -> re2._Regexp[str]:
    """A blocked pattern, compiled for RE2; PatternError if RE2 cannot take it."""
    try:
        regex = re2.compile(fold_pattern(pattern), _options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise PatternError(
            "rule.pattern_unusable",
            "{pattern} cannot be used ({detail}); patterns may not use back-references or "
            "look-arounds",
            pattern=pattern,
            detail=str(reason),
        ) from None
    if regex.programsize > MAX_PROGRAM:
        raise PatternError(
            "rule.pattern_too_costly",
            "{pattern} cannot be used (too costly to match: {steps} steps, at most {limit}); "
            "use fewer or smaller repetitions",
            pattern=pattern,
            steps=regex.programsize,
            limit=MAX_PROGRAM,
        )
    return regex


def cost(patterns: Iterable[str]) -> int:
    """What matching every one of the patterns costs (see MAX_PROGRAM_TOTAL); PatternError for
    a pattern that cannot be used."""
    return sum(compiled(pattern).programsize for pattern in patterns)


def first_match(patterns: Iterable[str], texts: Iterable[str]) -> str | None:
    """The first pattern found in any of the texts, after folding."""
    folded = [fold(text) for text in texts if text]
    for pattern in patterns:
        try:
            regex = compiled(pattern)
        except PatternError:  # stored before patterns were checked: matched as plain text
            regex = re2.compile(re2.escape(fold_pattern(pattern)), _options())
        if any(regex.search(text) for text in folded):
            return pattern
    return None
