"""Typed errors of the Pika layer.

Each kind of error has a `failure` key: the bot tells members what happened in its own words
(`failure.<key>` in the wording catalogue), never in the vendor's. `describe()` (the vendor's
detail, already redacted by the client) is for the log and the job's `last_error` only."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Problem:
    """One broken rule of a request: the vendor field it concerns (dotted path) and the rule.

    `rule` is English, for Pika's own answers (the local Pika) and the logs; `key` names the
    same rule in the wording catalogue (`rule.*`) and `params` fill it, so that a member reads it
    in their language. A rule without a key is read in English (`rule.vendor`)."""

    field: str
    rule: str
    key: str = ""
    # Not compared: the English rule already holds the numbers, and a dict cannot be hashed.
    params: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}" if self.field else self.rule


class InvalidRequest(ValueError):
    """A request broke one of the API's rules; nothing was sent."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class PikaError(Exception):
    """Base of every error raised by the Pika client."""

    user_message = "Pika could not handle this request."
    failure: ClassVar[str] = "pika"

    def __init__(self, detail: str = "", *, status: int | None = None) -> None:
        self.detail = detail[:300]
        self.status = status
        super().__init__(self.describe())

    def describe(self) -> str:
        """The message to show a person."""
        return f"{self.user_message} {self.detail}".strip()


class PikaAuthError(PikaError):
    """The API key was refused (401)."""

    user_message = "The bot's Pika API key was refused; the server owner needs to check it."
    failure = "pika_auth"


class PikaPlanError(PikaError):
    """The plan has no credits left, or lacks the feature (402/403)."""

    user_message = "Pika refused: the owner's plan has no credits left or does not include this."
    failure = "pika_plan"


class PikaRateLimited(PikaError):
    """Pika asked us to slow down (429) and went on asking past our retries."""

    user_message = "Pika is rate limiting the bot right now; try again shortly."
    failure = "pika_rate_limited"

    def __init__(
        self, detail: str = "", *, status: int | None = 429, retry_after: float | None = None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(detail, status=status)


class PikaRejected(PikaError):
    """Pika refused the request itself (4xx other than auth, plan and rate limits)."""

    user_message = "Pika rejected the request:"
    failure = "pika_rejected"


class PikaServerError(PikaError):
    """Pika failed or could not be reached, and retries did not help."""

    user_message = "Pika is having trouble right now; try again later."
    failure = "pika_server"


class PikaOutcomeUnknown(PikaServerError):
    """A paid call was sent but no answer came back: Pika may or may not have started a job.

    Never retried automatically, since a retry could pay twice.
    """

    user_message = "Pika did not answer in time, so the bot cannot tell whether the job started."
    failure = "pika_outcome_unknown"


class PikaBadResponse(PikaError):
    """Pika answered something this client cannot read."""

    user_message = "Pika sent an answer the bot could not read."
    failure = "pika_bad_response"


class PikaUnreadableAnswer(PikaBadResponse, PikaOutcomeUnknown):
    """A paid call was answered with success, but not in a shape the bot can read: Pika may
    well have started the job, so it is an unknown outcome, never re-sent."""

    user_message = (
        "Pika answered in a way the bot could not read, so it cannot tell whether the job started."
    )
    failure = "pika_outcome_unknown"
