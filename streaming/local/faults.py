"""Scripted service faults: what an app's retry logic must survive, on demand (pure).

The operator lists them in the resources file (``serve --resources FILE``, section
``Faults``); a test picks one for its stream by the session id it sends (a rule with a
``SessionIdPrefix`` acts only on sessions whose id starts with it) or gets it on every
stream (a rule without one). Everything is placed by position, never by a race: in the
audio's own time (seconds of audio the endpoint has decoded), or by counting calls.

    Faults:
      - SessionIdPrefix: "0000dead"      # optional: which sessions
        Operation: StartStreamTranscription   # optional: which operation
        RefuseOpen: {Exception: LimitExceededException, Times: 2}
        ExceptionAt: {Seconds: 5, Exception: InternalFailureException}
        ResetAt: {Seconds: 3, How: tcp}   # tcp (a reset), stream (RST_STREAM / close 1011)
        StallResultsAt: {Seconds: 2, For: 8}
        DelayResults: 0.5
      - JobApi: {Exception: ThrottlingException, Times: 3}

``RefuseOpen`` refuses the first ``Times`` opens of each matching session (then lets it
through, as a service that recovers would); ``ExceptionAt`` ends a matching session's stream
with the exception once its audio reaches ``Seconds`` (once per session id, so a resumed
stream goes on); ``ResetAt`` breaks the connection there instead (once per session id);
``StallResultsAt`` holds the results back ``For`` seconds once the audio reaches
``Seconds``; ``DelayResults`` sends every result that many seconds late; ``JobApi`` refuses
the first ``Times`` job API calls. Which exceptions may be named: :data:`MODELED`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..proto.errors import (
    BadRequestException,
    ConflictException,
    InternalFailureException,
    InternalServerException,
    LimitExceededException,
    ParameterError,
    ServiceError,
    ServiceUnavailableException,
    ThrottlingException,
)
from ..proto.params import Operation

__all__ = ["MODELED", "FaultPlan", "FaultRule", "parse_faults"]

MODELED: Final[Mapping[str, type[ServiceError]]] = {
    cls.code: cls
    for cls in (
        BadRequestException,
        ConflictException,
        InternalFailureException,
        LimitExceededException,
        ServiceUnavailableException,
        ThrottlingException,
        InternalServerException,
    )
}
_MESSAGES: Final = {
    "BadRequestException": "A scripted fault: the request was refused.",
    "ConflictException": "A scripted fault: a stream with this session ID is already running.",
    "InternalFailureException": "A scripted fault: an internal error occurred.",
    "LimitExceededException": "A scripted fault: you have reached your limit of concurrent streams. Try again later.",
    "ServiceUnavailableException": "A scripted fault: the service is unavailable. Try again later.",
    "ThrottlingException": "A scripted fault: rate exceeded.",
    "InternalServerException": "A scripted fault: an internal server error occurred.",
}
_KEYS: Final = frozenset(
    {
        "Name",
        "SessionIdPrefix",
        "Operation",
        "RefuseOpen",
        "ExceptionAt",
        "ResetAt",
        "StallResultsAt",
        "DelayResults",
        "JobApi",
    }
)
_SESSIONS_REMEMBERED: Final = 4096  # per rule: the sessions a once-only fault has hit


@dataclass(frozen=True, slots=True)
class FaultRule:
    """One entry of the ``Faults`` section (see the module docstring)."""

    name: str
    session_prefix: str | None = None
    operation: Operation | None = None
    refuse_open: tuple[str, int] | None = None  # exception, times per session
    exception_at: tuple[float, str] | None = None  # audio seconds, exception
    reset_at: tuple[float, str] | None = None  # audio seconds, "tcp" | "stream"
    stall_at: tuple[float, float] | None = None  # audio seconds, seconds held
    delay: float = 0.0
    job_api: tuple[str, int] | None = None  # exception, calls

    def matches(self, operation: Operation, session_id: str) -> bool:
        return (self.operation is None or self.operation is operation) and (
            self.session_prefix is None or session_id.startswith(self.session_prefix)
        )


def _fail(where: str, message: str) -> ParameterError:
    return ParameterError("resources", f"resources Faults[{where}]: {message}")


def _exception(value: object, where: str) -> str:
    if value not in MODELED:
        raise _fail(where, f"Exception must be one of {', '.join(MODELED)}, not {value!r:.60}")
    return str(value)


def _seconds(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 4 * 3600:
        raise _fail(where, f"must be seconds from 0 to 14400, not {value!r:.60}")
    return float(value)


def _times(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
        raise _fail(where, f"Times must be a whole number from 1 to 1000, not {value!r:.60}")
    return value


def _section(entry: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any] | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _fail(where, f"{key} must be an object")
    return value


def parse_faults(entries: object) -> tuple[FaultRule, ...]:
    """The ``Faults`` section, checked, or :class:`ParameterError` naming the entry."""
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise ParameterError("resources", "resources Faults must be a list")
    rules = []
    for i, entry in enumerate(entries):
        where = str(i)
        if not isinstance(entry, Mapping):
            raise _fail(where, "must be an object")
        unknown = sorted(set(map(str, entry)) - _KEYS)
        if unknown:
            raise _fail(where, f"unknown fields: {', '.join(unknown)}")
        prefix = entry.get("SessionIdPrefix")
        if prefix is not None and (not isinstance(prefix, str) or not 1 <= len(prefix) <= 36):
            raise _fail(where, "SessionIdPrefix must be the first 1..36 characters of a session id")
        operation = None
        if entry.get("Operation") is not None:
            operation = next((op for op in Operation if op.value == entry["Operation"]), None)
            if operation is None:
                raise _fail(where, f"Operation must be one of {', '.join(op.value for op in Operation)}")
        refuse = _section(entry, "RefuseOpen", where)
        at = _section(entry, "ExceptionAt", where)
        reset = _section(entry, "ResetAt", where)
        stall = _section(entry, "StallResultsAt", where)
        jobs = _section(entry, "JobApi", where)
        if reset is not None and reset.get("How", "tcp") not in ("tcp", "stream"):
            raise _fail(where, "ResetAt.How must be tcp or stream")
        delay = entry.get("DelayResults", 0.0)
        rule = FaultRule(
            name=str(entry.get("Name") or f"fault {i}"),
            session_prefix=prefix,
            operation=operation,
            refuse_open=(
                (_exception(refuse.get("Exception"), where), _times(refuse.get("Times", 1), where)) if refuse else None
            ),
            exception_at=((_seconds(at.get("Seconds"), where), _exception(at.get("Exception"), where)) if at else None),
            reset_at=(_seconds(reset.get("Seconds"), where), str(reset.get("How", "tcp"))) if reset else None,
            stall_at=(_seconds(stall.get("Seconds"), where), _seconds(stall.get("For"), where)) if stall else None,
            delay=_seconds(delay, where) if delay else 0.0,
            job_api=(_exception(jobs.get("Exception"), where), _times(jobs.get("Times", 1), where)) if jobs else None,
        )
        rules.append(rule)
    return tuple(rules)


def modeled(code: str) -> ServiceError:
    return MODELED[code](_MESSAGES[code])


class FaultPlan:
    """The endpoint's faults and how often each has acted (bounded memory): the decisions
    the endpoint asks for at the open, per audio position, and per job call."""

    def __init__(self, rules: tuple[FaultRule, ...]) -> None:
        self.rules = rules
        self._counts: dict[int, OrderedDict[str, int]] = {i: OrderedDict() for i in range(len(rules))}
        self._job_calls = [0] * len(rules)

    def _count(self, index: int, key: str) -> int:
        counts = self._counts[index]
        counts[key] = counts.get(key, 0) + 1
        counts.move_to_end(key)
        while len(counts) > _SESSIONS_REMEMBERED:
            counts.popitem(last=False)
        return counts[key]

    def _seen(self, index: int, key: str) -> int:
        return self._counts[index].get(key, 0)

    def refuse_open(self, operation: Operation, session_id: str) -> ServiceError | None:
        """The exception that refuses this open, if a rule says so."""
        for i, rule in enumerate(self.rules):
            if rule.refuse_open and rule.matches(operation, session_id):
                code, times = rule.refuse_open
                if self._count(i, f"open:{session_id}") <= times:
                    return modeled(code)
        return None

    def for_stream(self, operation: Operation, session_id: str) -> StreamFaults:
        """The faults that may act on one stream (each once-only fault once per session)."""
        chosen = [(i, r) for i, r in enumerate(self.rules) if r.matches(operation, session_id)]
        return StreamFaults(self, session_id, chosen)

    def job_call(self) -> ServiceError | None:
        """The exception that refuses this job API call, if a rule says so."""
        for i, rule in enumerate(self.rules):
            if rule.job_api:
                code, times = rule.job_api
                self._job_calls[i] += 1
                if self._job_calls[i] <= times:
                    return modeled(code)
        return None


@dataclass(frozen=True, slots=True)
class Reset:
    """Break the connection (``how``: ``tcp`` a reset, ``stream`` RST_STREAM or close 1011)."""

    how: str


class StreamFaults:
    """What the faults do to one stream, asked as its audio advances."""

    def __init__(self, plan: FaultPlan, session_id: str, rules: list[tuple[int, FaultRule]]) -> None:
        self._plan = plan
        self._session = session_id
        self._rules = rules
        self.delay = max((r.delay for _, r in rules), default=0.0)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def _once(self, index: int, kind: str) -> bool:
        """True the first time ``kind`` acts for this session under rule ``index``."""
        key = f"{kind}:{self._session}"
        if self._plan._seen(index, key):
            return False
        self._plan._count(index, key)
        return True

    def at(self, audio_seconds: float) -> ServiceError | Reset | None:
        """An exception or a reset due once the audio has reached ``audio_seconds``."""
        for i, rule in self._rules:
            if rule.exception_at and audio_seconds >= rule.exception_at[0] and self._once(i, "exception"):
                return modeled(rule.exception_at[1])
            if rule.reset_at and audio_seconds >= rule.reset_at[0] and self._once(i, "reset"):
                return Reset(rule.reset_at[1])
        return None

    def stall(self, audio_seconds: float) -> float:
        """Seconds to hold results back now (once per session and rule), else 0."""
        for i, rule in self._rules:
            if rule.stall_at and audio_seconds >= rule.stall_at[0] and self._once(i, "stall"):
                return rule.stall_at[1]
        return 0.0
