"""The wording catalogue: every key the code uses exists and fills, and member errors read as
sentences with their icon, in the member's language."""

from __future__ import annotations

import re
import string
import unicodedata
from pathlib import Path

import pytest

from bot.discord.wording import MESSAGES, explain, say, shown, title
from bot.errors import InputError
from bot.guardrails import Refusal

ROOT = Path(__file__).resolve().parents[3]
# A key in code: the first argument of say(), a MemberError subclass, InputError.rule, a failure
# recorded by fail()/end(), or a key raised as Undeliverable/DeliveryFailed.
USED = re.compile(
    r"""(?:say|Refusal|FollowUpRefused|MemberError|Undeliverable|DeliveryFailed|"""
    r"""InputError\.rule\([^,]+,)\(\s*f?"([a-z_]+\.[a-z_.{}]+)"|"""
    r"""fail\(\s*\w+,\s*f?"([a-z_.{}]+)"|self\.end\(\s*\w+,\s*"([a-z_]+)\""""
)


def test_every_key_the_code_uses_is_in_the_catalogue() -> None:
    used: set[str] = set()
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("cogs/*.py")]:
        for match in USED.finditer(path.read_text()):
            key = next(g for g in match.groups() if g)
            failure = match.group(2) or match.group(3)
            used.add(f"failure.{key}" if failure else key)
    assert len(used) > 60
    dynamic = {k for k in used if "{" in k}
    missing = {k for k in used - dynamic if k not in MESSAGES}
    assert not missing
    assert all(any(k.startswith(d.split("{")[0]) for k in MESSAGES) for d in dynamic)


def test_every_failure_of_pika_has_a_sentence() -> None:
    from bot.pika import errors

    kinds = {
        cls.failure
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.PikaError)
    }
    assert {f"failure.{k}" for k in kinds} <= set(MESSAGES)


def test_every_sentence_is_a_valid_template() -> None:
    for key, text in MESSAGES.items():
        fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
        assert all(re.fullmatch(r"\w+(![rs])?", f) or f == "" for f in fields), key


def test_member_errors_are_explained_with_their_icon() -> None:
    refusal = Refusal("refusal.running", running=2, limit=2)
    assert explain(refusal).startswith("⛔ Videos in the making: 2")
    bad = InputError(
        [
            ("frame_rate", "rule.vendor", {"text": "must be between 1 and 24"}),
            ("image", "rule.either_not_both", {"option": "image"}),
        ]
    )
    assert explain(bad) == (
        "⚠️ frame_rate: must be between 1 and 24\n"
        "image: give either `image` or `image_url`, not both."
    )


def test_member_errors_are_explained_in_the_members_language() -> None:
    refusal = Refusal("refusal.cooldown", seconds=30, ready=1_700_000_000)
    assert explain(refusal, "fr") == (
        "⛔ Merci d'attendre 30 s entre deux vidéos ici. Tu pourras redemander <t:1700000000:R>."
    )
    assert explain(refusal, "de").startswith("⛔ Bitte warte hier 30 s")
    assert title("upscale", "ja") == "高画質化"


@pytest.mark.parametrize("key", [k for k in MESSAGES if k.startswith("refusal.")])
def test_every_refusal_fills_from_its_parameters(key: str) -> None:
    fields = {f for _, f, _, _ in string.Formatter().parse(MESSAGES[key]) if f}
    assert say(key, **dict.fromkeys(fields, 1))


def test_member_errors_name_options_as_the_members_discord_shows_them() -> None:
    # A French member's client shows the option `vidéo_url`, a Japanese one's `動画のurl`:
    # an error naming `video_url` points at an option they cannot find.
    fetch = InputError.rule("video_url", "rule.unreachable")
    assert explain(fetch, "fr").startswith("⚠️ vidéo_url : n'a pas pu être récupéré")
    both = InputError.rule("video", "rule.either_not_both", option="video")
    japanese = explain(both, "ja")
    assert japanese.startswith("⚠️ 動画") and "`動画`" in japanese and "`動画のurl`" in japanese
    assert explain(both) == "⚠️ video: give either `video` or `video_url`, not both."


def test_a_choice_rule_of_pikas_lists_its_choices_in_the_members_language() -> None:
    # pydantic lists a Literal's values as "'in' or 'out'", and the bot's own check of a
    # command's options did the same: an English "or" that a Japanese member read as it was.
    from pydantic import ValidationError

    from bot.pika.models import Generate10Request
    from bot.pika.rules import rule_of

    with pytest.raises(ValidationError) as caught:
        Generate10Request.model_validate({"promptText": "x", "options": {"camera": {"zoom": "up"}}})
    literal = next(e for e in caught.value.errors() if e["type"] == "literal_error")
    key, params = rule_of(literal)
    rule = InputError([("zoom", key, params)])
    assert explain(rule) == "⚠️ zoom: must be one of 'in', 'out'"
    assert explain(rule, "ja") == "⚠️ ズーム: は次のいずれかにしてください: 'イン'、'アウト'"


@pytest.mark.parametrize(
    ("typed", "broken"),
    [
        ("see https://evil.example/x.gif", "https\u200b://"),
        ("STEAM://run/1", "STEAM\u200b://"),
        ("join discord.gg/raid", "discord\u200b.gg/"),
        ("discordapp.com/invite/raid", "discordapp\u200b.com/"),
        ("<#900000000000000200>", "\\<#"),
        ("</pika generate:123456789012345678>", "\\</pika"),
        ("<t:0:R>", "\\<t:0:R>"),
        ("<a:dance:123456789012345678>", "\\<a:dance:"),
    ],
)
def test_member_text_carries_no_link_invite_or_angle_bracket_form(typed: str, broken: str) -> None:
    assert broken in shown(typed)


def test_member_text_without_links_reads_as_typed() -> None:
    assert shown("a fox: 16:9, at dusk (discord style)") == "a fox: 16:9, at dusk (discord style)"
    # A URL's underscores no longer pass as part of a link: they are escaped like the rest.
    assert shown("https://e.example/_a_") == "https\u200b://e.example/\\_a\\_"


def test_a_job_id_the_member_typed_reads_as_typed_in_its_code_span() -> None:
    missing = InputError.rule("job_id", "rule.no_such_job", job_id="my_fox*`[x](y)")
    assert explain(missing) == (
        "⚠️ job_id: none of your videos here has the id `my_fox*\u02cb[x](y)`."
    )


@pytest.mark.parametrize(
    "typed",
    [
        "[**bold** ||hidden||](x)",  # markdown inside what looked like a masked link
        "[a](b) **loud** ||hidden|| [c](d)",  # ... or between two of them
        "# heading",
        "-# small print",
        "> quoted",
        "12. a list",
    ],
)
def test_member_markdown_reads_as_typed_everywhere_in_it(typed: str) -> None:
    out = shown(typed)
    bare = re.sub(r"\\.", "x", out)  # what markdown reads: an escaped character is a letter
    assert not re.search(r"[*|\[\]]|^\s*(#|>|-|\d+\.)", bare), out
    assert re.sub(r"\\(.)", r"\1", out) == typed  # and shows every character typed


def test_characters_that_show_nothing_never_reach_a_message() -> None:
    """C0 and C1 controls, zero-width and other format characters, and halves of a character
    passed through into public messages and embeds: a NUL, a bell, a terminal's escape sequence
    (`\\x1b[31m`), a zero-width space hiding a blocked word's look, a soft hyphen, a byte-order
    mark, a lone surrogate (whose JSON no message can carry). Dropped, on one line; the joiners
    of an emoji and the tags of a flag stay, and white space is a space."""
    typed = (
        "a\x00 f\x07ox\x1b[31m \u200bred\u00ad\ufeff\u2060\u2063 \ud800fox\x9b \x85at\x1f\ndusk "
        "👨\u200d👩\u200d👧 🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    )
    out = shown(typed)
    assert not [c for c in out if unicodedata.category(c) in ("Cc", "Cs")]
    assert not set(out) & {"\u200b", "\u00ad", "\ufeff", "\u2060", "\u2063"}
    assert out.startswith("a fox\\[31m red fox at dusk ")
    assert "👨\u200d👩\u200d👧" in out  # a family emoji, still one
    assert out.endswith("🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f")


def test_a_code_span_shows_the_characters_that_show_nothing_by_their_codes() -> None:
    # An owner's pattern holding a zero-width space or a bell reads as what it holds.
    missing = InputError.rule("job_id", "rule.no_such_job", job_id="fox\u200b\x07\ud800")
    # Compared as ascii(): a failure's report holding a lone surrogate cannot be sent back
    # from a test worker.
    assert ascii(explain(missing)) == ascii(
        "⚠️ job_id: none of your videos here has the id `fox\\u200b\\u0007\\ud800`."
    )
