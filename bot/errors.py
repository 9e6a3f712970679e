"""The one base of every error a member can act on.

Intake (bad input), the guardrails (a limit) and the follow-up rules (a control that may not be
used) raise a `MemberError`. It carries a key into the wording catalogue
(`bot/discord/messages.py`) and the values that fill its sentence, not a sentence: the layers that
raise it know nothing of Discord or of the member's language. The cogs answer every one of them
in one place (`cogs/errors.py`), privately.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class MemberError(Exception):
    """A problem the member can act on: `key` names its sentence, `params` fill it."""

    # The language to tell it in when what met it carries none (a reaction on a failure).
    language: str | None = None

    def __init__(self, key: str, /, **params: Any) -> None:
        self.key = key
        self.params = params
        details = ", ".join(f"{name}={value!r}" for name, value in params.items())
        super().__init__(f"{key}({details})")


Problem = tuple[str, str, dict[str, Any]]  # (option, rule key, what fills the rule)


class InputError(MemberError):
    """Bad input, found before anything is paid for: each problem names an option and its rule."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("input", problems=self.problems)

    @classmethod
    def rule(cls, option: str, key: str, /, **params: Any) -> InputError:
        """One option broke one of the bot's own rules (`rule.*` in the catalogue)."""
        return cls([(option, key, params)])


class Restarting(MemberError):
    """The bot began a clean stop before the request was written: nothing was made or paid,
    and the member is asked to ask again in a minute (another process, or this one restarted,
    will take it)."""

    def __init__(self) -> None:
        super().__init__("restarting")
