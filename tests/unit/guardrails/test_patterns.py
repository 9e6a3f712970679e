"""Blocked patterns: linear time whatever the pattern, and no hiding behind look-alikes."""

from __future__ import annotations

import time

import pytest

from bot.guardrails.patterns import PatternError, compiled, first_match, fold


@pytest.mark.parametrize(
    "disguised",
    [
        "ns\u200bfw",  # zero-width space
        "n\u200ds\u2060f\ufeffw",  # zero-width joiner, word joiner, BOM
        "ns\u00adfw",  # soft hyphen
        "\uff4e\uff53\uff46\uff57",  # fullwidth
        "NSFW",
        "n\u0455fw",  # Cyrillic dze
        # Invisible, yet neither format characters nor removed by NFKC (Unicode's other
        # default-ignorable code points): each one showed "nsfw" and passed.
        "ns\u034ffw",  # combining grapheme joiner
        "ns\ufe0ffw",  # variation selector 16
        "ns\U000e0100fw",  # variation selector 17
        "ns\u180bfw",  # Mongolian free variation selector
        "ns\u3164fw",  # Hangul filler
        "ns\u115ffw",  # Hangul choseong filler
        "ns\u17b4fw",  # Khmer vowel inherent aq
    ],
)
def test_disguised_words_are_blocked(disguised: str) -> None:
    assert first_match(["nsfw"], ["a prompt with " + disguised + " in it"]) == "nsfw"


def test_look_alikes_fold_to_latin_and_syntax_is_kept() -> None:
    assert fold("\u0421\u0410\u0422 \u03bf\u0440\u0435\u0440") == "cat opep"
    assert first_match([r"\bc\S+t\b"], ["a \u0441\u0430t"]) == r"\bc\S+t\b"
    assert first_match(["\u0441at"], ["a cat"]) == "\u0441at"  # a Cyrillic pattern matches too
    assert first_match(["dog"], ["a cat"]) is None


def test_a_catastrophic_pattern_takes_no_time() -> None:
    started = time.perf_counter()
    assert first_match(["(a+)+$", "(x+x+)+y"], ["a" * 28 + "!", "x" * 5000]) is None
    assert time.perf_counter() - started < 0.1


def test_a_pattern_too_costly_to_match_is_refused_by_name() -> None:
    # Linear, but RE2's slower engine runs them: 150 ms a prompt each, a hundred of them 15 s
    # of the event loop for every member of every server.
    for pattern in (r"(\w+\s?){1000}z", r".{1000}z"):
        with pytest.raises(PatternError, match="too costly to match") as caught:
            compiled(pattern)
        assert pattern in str(caught.value)
    compiled(r"\p{L}+")  # every letter of every script is not too costly
    # Stored before the rule: matched as plain text, at no cost.
    assert first_match([r"(\w+\s?){1000}z"], ["a b c " * 300 + "z"]) is None
    assert first_match([r"(\w+\s?){1000}z"], [r"quoting (\w+\s?){1000}z"]) is not None


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=a)", r"(?<!a)b", "(unclosed"])
def test_patterns_the_engine_cannot_take_are_refused_by_name(pattern: str) -> None:
    with pytest.raises(PatternError, match="cannot be used") as caught:
        compiled(pattern)
    assert pattern in str(caught.value)
