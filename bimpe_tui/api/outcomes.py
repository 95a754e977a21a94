"""What the stream engine does after an attempt ends: a pure table, no I/O.

An attempt is one ticket call and, if that succeeded, one stream GET read
until it ends. `classify(failure, attempt)` turns how it ended (an exception,
or None for a clean end from the server) into an `Outcome`; `ResumableStream`
applies outcomes and does nothing else with failures. The rows, in order
(phase: what happened -> outcome):

- ticket: 401 / 403 -> give up: the API key was refused
- ticket: 404 -> give up: conversation not found
- stream: 401 / 403 -> refresh the ticket (a counted failure)
- stream: the resume point was refused (410, or 400 / 404 naming `after`):
  - the point is a time -> continue live, and say so
  - an id whose time is known -> fall back to that time
  - an id whose time is unknown, not looked up yet -> look it up in the history
  - an id whose time was looked up and not found -> continue live, and say so
- stream: 404 otherwise -> give up: conversation not found
- stream: 400 / 410 otherwise -> give up with the error
- any: no byte for `read_timeout` s -> stalled, then retry
- any: network error -> retry
- any: 429 -> retry after `Retry-After` (capped at 60 s) or the back-off,
  whichever is longer; never given up for (the count stops at the budget)
- any: 408, 5xx but 501, connection error -> retry
- any: 3xx, 409, 501, other 4xx, a body that is not what was asked -> give up
- stream: the server ended the stream -> retry, or close without `reconnect`

Every retry and ticket refresh is a consecutive failure: without `reconnect`
it gives up instead, and past `max_retries` it gives up saying so (but for
a 429, whose count stops at the budget). The delay of a retry is full
jitter, `jitter * min(max_delay, base_delay * 2**(failure - 1))`; of a 429,
the longer of its `Retry-After` and the upper half of that window. Falling back and
looking up are not failures: the server answered, it only forgot a message.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

import aiohttp

from ..redact import redact
from .errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    GoneError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from .retry import backoff_window, honour_retry_after, is_retryable
from .transport import describe_stream_failure

#: Where an attempt ended: in the ticket call, or in the stream GET and its reading.
Phase = Literal["ticket", "stream"]

OutcomeKind = Literal[
    "retry",
    "refresh_ticket",
    "fall_back",
    "look_up",
    "continue_live",
    "give_up",
    "close",
]


class NoEventTimeout(Exception):
    """Bytes kept coming but no event completed in time (a proxy that drips, a
    frame trickled a byte at a time): as stalled as silence."""


#: What the engine catches from an attempt; anything else is a bug and propagates.
FAILURES: tuple[type[BaseException], ...] = (
    aiohttp.ClientError,
    NoEventTimeout,
    APIError,
    APIConnectionError,
    MalformedResponseError,
)

CONVERSATION_NOT_FOUND = "conversation not found"
#: The longest message id sent back as `after` (see `usable_id`).
MAX_ID_CHARS = 256
SERVER_CLOSED = "the server closed the stream"


@dataclass(frozen=True, slots=True)
class Attempt:
    """What the engine knew when an attempt ended: the context of `classify`."""

    phase: Phase
    #: The `after` the attempt sent (None: live from now).
    cursor: str | None
    reconnect: bool
    #: Consecutive failures before this attempt.
    failures: int
    max_retries: int
    read_timeout: float
    base_delay: float
    max_delay: float
    #: A uniform sample in [0, 1) from the stream's own random source.
    jitter: float
    #: The creation time of the message `cursor` names, if the engine knows it.
    cursor_time: str | None = None
    #: Whether the history was already searched for `cursor`'s time.
    looked_up: bool = False
    #: Strings masked out of every cause (the API key, the ticket).
    secrets: tuple[str | None, ...] = ()


@dataclass(frozen=True, slots=True)
class Outcome:
    """What to do next, with what the status line should say about it."""

    kind: OutcomeKind
    cause: str
    #: Consecutive failures after this attempt (the `attempt` of a retry).
    failures: int
    #: Seconds to wait before the next attempt (retry and refresh_ticket).
    delay: float | None = None
    #: The next `after`: a time (fall_back) or None (continue_live).
    cursor: str | None = None
    #: The resume point the server refused (fall_back, continue_live).
    rejected: str | None = None
    #: The attempt ended because no byte came in time: say `stalled` first.
    stalled: bool = False


def parse_timestamp(value: str) -> datetime | None:
    """Parse an ISO-8601 timestamp (a trailing `Z` allowed); None if it is not one."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def is_timestamp(value: str) -> bool:
    """Whether an `after` value is an ISO-8601 timestamp rather than a message id."""
    return parse_timestamp(value) is not None


def classify(failure: BaseException | None, attempt: Attempt) -> Outcome:
    """The outcome of an attempt that ended with `failure` (None: the server ended it)."""
    keep = attempt.failures
    if failure is None:
        if not attempt.reconnect:
            return Outcome("close", SERVER_CLOSED, keep)
        return _retry("retry", SERVER_CLOSED, attempt)
    if isinstance(failure, NoEventTimeout):
        cause = f"no complete event for {attempt.read_timeout:g} s (bytes trickling)"
        return _retry("retry", cause, attempt, stalled=True)
    transport = describe_stream_failure(failure)
    if transport is not None:
        words, silence = transport
        if silence:
            cause = f"no data for {attempt.read_timeout:g} s"
            return _retry("retry", cause, attempt, stalled=True)
        return _retry("retry", words, attempt)
    if isinstance(failure, AuthenticationError | PermissionDeniedError):
        if attempt.phase == "ticket":
            cause = _mask(f"the API key was refused ({failure})", attempt)
            return Outcome("give_up", cause, keep)
        # The ticket call just succeeded, so the key is fine: the ticket was
        # used or expired, and a new one fixes that.
        return _retry("refresh_ticket", f"stream ticket refused ({failure.status})", attempt)
    if isinstance(failure, RateLimitError):
        return _rate_limited(failure, attempt)
    if (
        isinstance(failure, APIError)
        and attempt.phase == "stream"
        and _lost_resume_point(failure, attempt.cursor)
    ):
        return _resume_elsewhere(attempt)
    if isinstance(failure, BadRequestError | NotFoundError | GoneError):
        if isinstance(failure, NotFoundError):
            return Outcome("give_up", CONVERSATION_NOT_FOUND, keep)
        return Outcome("give_up", _mask(str(failure), attempt), keep)
    if isinstance(failure, MalformedResponseError) or not is_retryable(failure):
        # A login page where an event stream should be, a redirect, a 409 or
        # a 501: asking again gets the same answer.
        return Outcome("give_up", _mask(str(failure), attempt), keep)
    return _retry("retry", _mask(str(failure), attempt), attempt)


def _rate_limited(failure: RateLimitError, attempt: Attempt) -> Outcome:
    """A 429: wait at least the engine's own back-off, and never give up for it.

    A server that answers 429 is up and asking for "later", not broken: a
    `Retry-After: 0` (or none) must not let a burst of 429s burn the whole
    budget in milliseconds. The wait is the longer of the server's ask and the
    back-off drawn from the upper half of the attempt's window (equal jitter:
    still spread, never near zero), and the count stops at the budget, so the
    stream keeps trying at the capped window until the limit lifts. Without
    `reconnect`, or with no retries at all, it gives up as any failure does.
    """
    cause = "rate limited (429)"
    if not attempt.reconnect or attempt.max_retries < 1:
        return _retry("retry", cause, attempt)
    failures = min(attempt.failures + 1, attempt.max_retries)
    window = backoff_window(failures - 1, base=attempt.base_delay, cap=attempt.max_delay)
    backoff = window * (0.5 + attempt.jitter / 2)
    asked = honour_retry_after(failure.retry_after)
    delay = backoff if asked is None or asked < backoff else asked
    return Outcome("retry", cause, failures, delay=delay)


def _lost_resume_point(failure: APIError, cursor: str | None) -> bool:
    # A 410 can only be about `after`; a 400 or 404 is when it says so. A
    # request too long (414, 431) or a 400 without a word of its own (a proxy
    # or a server's HTTP layer refusing the URL) is about the one part of the
    # stream GET that varies, the cursor: resuming elsewhere is worth a try,
    # where giving up would fail the same way on every retry and restart.
    if cursor is None:
        return False
    if isinstance(failure, GoneError) or failure.status in (414, 431):
        return True
    if failure.status not in (400, 404):
        return False
    said = failure.message.lower()
    return "after" in said or (failure.status == 400 and said in ("", "http 400"))


def usable_id(value: str) -> bool:
    """Whether a message id can be sent back as `after`: short, and printable.

    Ids come from the server (and through the state file): one of 100 KB, or
    with control or bidi characters, is delivered like any message but never
    goes into a URL: a server cannot take it, and it would fail every retry.
    """
    return 0 < len(value) <= MAX_ID_CHARS and value.isprintable()


def unusable_cursor(attempt: Attempt) -> Outcome:
    """The outcome for a resume point that is not sent at all (see `usable_id`).

    As for a resume point the server refused, but said without the id: its
    time if known, else a look-up in the history, else live, saying so.
    """
    rejected = attempt.cursor
    assert rejected is not None
    outcome = _resume_elsewhere(attempt)
    what = (
        f"a message id of {len(rejected)} characters"
        if len(rejected) > MAX_ID_CHARS
        else ("a message id with control characters")
    )
    if outcome.kind == "fall_back":
        cause = f"the resume point is {what}, not sent; resuming from its time {outcome.cursor}"
        return replace(outcome, cause=cause)
    if outcome.kind == "continue_live":
        return replace(outcome, cause=f"the resume point is {what}, not sent; continuing live")
    return outcome


def _resume_elsewhere(attempt: Attempt) -> Outcome:
    rejected = attempt.cursor
    assert rejected is not None
    keep = attempt.failures
    if not is_timestamp(rejected):
        when = attempt.cursor_time
        if when is not None and when != rejected and is_timestamp(when):
            cause = (
                f"the server could not resume after message {rejected}; "
                f"resuming from its time {when}"
            )
            return Outcome("fall_back", cause, keep, cursor=when, rejected=rejected)
        if not attempt.looked_up:
            return Outcome("look_up", "", keep, rejected=rejected)
    cause = f"the server could not resume after {rejected}; continuing live"
    return Outcome("continue_live", cause, keep, cursor=None, rejected=rejected)


def _retry(
    kind: OutcomeKind,
    cause: str,
    attempt: Attempt,
    *,
    delay: float | None = None,
    stalled: bool = False,
) -> Outcome:
    failures = attempt.failures + 1
    if not attempt.reconnect:
        return Outcome("give_up", cause, failures, stalled=stalled)
    if failures > attempt.max_retries:
        cause = f"{cause} (after {attempt.max_retries} retries)"
        return Outcome("give_up", cause, failures, stalled=stalled)
    if delay is None:
        delay = attempt.jitter * backoff_window(
            failures - 1, base=attempt.base_delay, cap=attempt.max_delay
        )
    return Outcome(kind, cause, failures, delay=delay, stalled=stalled)


def _mask(text: str, attempt: Attempt) -> str:
    return redact(text, *attempt.secrets)
