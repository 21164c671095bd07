"""When to try again, pure: the retry policy, the one retryable rule, clock skew, and an opening's budget.

The streaming core and the job client share :class:`RetryPolicy` and :func:`is_retryable`;
a stream keeps its signing clock as a :class:`ClockSkew` value (adopted from the service's
"Signature expired" message) and each connection it opens as an :class:`Opening`, which
decides after every failed attempt whether, and after what pause, to try again.
"""

from __future__ import annotations

import datetime as _dt
import random
import re
from dataclasses import dataclass
from typing import Final

from .errors import ParameterError, ServiceError, StreamTimeout, TranscribeError, TransportError

__all__ = ["DEFAULT_RETRY", "NO_SKEW", "ClockSkew", "Opening", "RetryPolicy", "is_retryable"]

_SKEW_RE: Final = re.compile(r"\((\d{8}T\d{6}Z) [+-] \d+ min\.\)")
_CONNECT_SLACK: Final = 0.5  # seconds another attempt needs, beyond its pause, to be worth making


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how often to try again.

    Connection set-up is retried for retryable failures (refused or dropped connections,
    429, 500, 503), never for other 4xx, with exponential backoff and full jitter,
    ``max_attempts`` times within ``max_total`` seconds; once a stream is under way, a lost
    connection must be replaced within ``reconnect_within`` seconds (the application hears
    a typed error by then: every attempt's connect timeout is cut to what is left). Mid-stream
    failures reconnect at most ``max_reconnects`` times per stream, replaying at most
    ``replay_seconds`` (and at most ``replay_bytes``) of buffered audio. ``rotate_after``
    seconds after a connection opened, the stream moves to a fresh one (the service ends a
    stream after 4 hours); rotations do not count against ``max_reconnects``.
    """

    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_total: float = 60.0
    reconnect_within: float = 20.0
    max_reconnects: int = 5
    replay_seconds: float = 120.0
    replay_bytes: int = 16 * 1024 * 1024
    rotate_after: float | None = 4 * 3600.0 - 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ParameterError("max_attempts", f"max_attempts must be at least 1, got {self.max_attempts}")
        for name in ("base_delay", "max_delay", "max_total", "reconnect_within", "replay_seconds"):
            if not getattr(self, name) >= 0:
                raise ParameterError(name, f"{name} must be a non-negative number of seconds")
        if self.max_reconnects < 0 or self.replay_bytes < 0:
            raise ParameterError("max_reconnects", "max_reconnects and replay_bytes must not be negative")
        if self.rotate_after is not None and not self.rotate_after > 0:
            raise ParameterError(
                "rotate_after", f"rotate_after must be positive seconds or None, got {self.rotate_after}"
            )

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay * 2**attempt)]."""
        return rng.uniform(0.0, min(self.max_delay, self.base_delay * (2 ** min(attempt, 32))))


DEFAULT_RETRY: Final = RetryPolicy()


def is_retryable(error: BaseException) -> bool:
    """Whether trying again can help: a refused, dropped or timed-out connection, a
    throttle or a 5xx, yes; a bad request, a refused signature, a certificate, no."""
    return isinstance(error, TransportError | ServiceError) and error.retryable


@dataclass(frozen=True, slots=True)
class ClockSkew:
    """How far the service's clock is from ours; signing times are corrected by it."""

    offset: _dt.timedelta = _dt.timedelta(0)

    def signing_time(self, now: _dt.datetime) -> _dt.datetime:
        return now + self.offset

    @staticmethod
    def from_refusal(message: str, now: _dt.datetime) -> ClockSkew | None:
        """The skew a 'Signature expired / not yet current' message reveals, or None."""
        match = _SKEW_RE.search(message)
        if match is None:
            return None
        server = _dt.datetime.strptime(match[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=_dt.UTC)
        return ClockSkew(server - now)


NO_SKEW: Final = ClockSkew()


@dataclass(slots=True)
class Opening:
    """One connection being opened, over as many attempts as its time budget allows.

    ``budget`` is ``max_total`` for a stream's first connection and ``reconnect_within``
    for one that replaces a lost connection (``under_way``).
    """

    policy: RetryPolicy
    since: _dt.datetime
    under_way: bool
    attempts: int = 0
    skew_adopted: bool = False

    @property
    def budget(self) -> float:
        return self.policy.reconnect_within if self.under_way else self.policy.max_total

    def timeout(self, limit: float, now: _dt.datetime) -> float:
        """``limit`` seconds for one attempt, cut to what is left of the budget."""
        left = self.budget - (now - self.since).total_seconds()
        return max(min(limit, left), 0.001)

    def after_failure(self, error: TranscribeError, now: _dt.datetime, rng: random.Random) -> float | TranscribeError:
        """The pause before the next attempt, or the error the stream fails with."""
        self.attempts += 1
        if not is_retryable(error) or self.attempts >= self.policy.max_attempts:
            return error
        pause = self.policy.delay(self.attempts, rng)
        if (now - self.since).total_seconds() + pause + _CONNECT_SLACK <= self.budget:
            return pause
        if not self.under_way:
            return error
        return StreamTimeout(
            f"could not reconnect within {self.budget:g} s (reconnect_within); "
            f"the last attempt failed with {type(error).__name__}: {error}"
        )
