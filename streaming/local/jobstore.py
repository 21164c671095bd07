"""The local endpoint's job status APIs: the service's JSON shapes and errors, seeded or made live.

Four operations answer on the endpoint's HTTP port (the one that serves the page and the
WebSocket), signature verified, over the AWS JSON protocol (``X-Amz-Target``):
``Transcribe.GetTranscriptionJob``, ``Transcribe.GetMedicalTranscriptionJob``,
``Transcribe.GetCallAnalyticsJob`` and ``VoiceID.DescribeSpeakerEnrollmentJob``.

Jobs come from two places:

* the resources file's ``TranscriptionJobs``, ``MedicalTranscriptionJobs``,
  ``CallAnalyticsJobs`` and ``SpeakerEnrollmentJobs``: each entry is the job object as
  the service returns it, plus an optional ``StatusSequence`` (our own key, never
  returned). Its entries are either statuses, shown on successive calls (the last one
  staying), or ``{"Status": ..., "Seconds": ...}`` steps, shown by time since the endpoint
  started, as a real job advances whether anyone asks or not. A seed that ends FAILED
  carries its ``FailureReason`` (or Voice ID's ``FailureDetails``). Seeds no service could
  return (QUEUED with a transcript, SUBMITTED at 100 %, COMPLETED with a failure reason)
  are refused at load, with the reason; while a job is not yet COMPLETED its transcript,
  completion time and the like are not shown;
* Call Analytics streams with ``PostCallAnalyticsSettings``: when such a stream ends, a
  call analytics job named after its session id is QUEUED for a second, IN_PROGRESS for
  a tenth of the call's length (at least a second), then COMPLETED (FAILED when nothing
  was said), by time; its transcript (the post-call JSON, built from the stream's own
  final utterances and categories) is served at the ``TranscriptFileUri`` it reports.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from ..proto.errors import (
    BadRequestException,
    ParameterError,
    ResourceNotFoundException,
    ServiceError,
    UnknownServiceError,
    ValidationException,
)
from ..proto.models import CategoryEvent, UtteranceEvent
from .postcall import post_call_output

if TYPE_CHECKING:
    from .stream import ServerStream

__all__ = ["MAX_POST_CALL_BYTES", "MAX_POST_CALL_JOBS", "JobStore"]

MAX_POST_CALL_JOBS: Final = 256
"""Post-call jobs kept at most (the oldest is forgotten first)."""
MAX_POST_CALL_BYTES: Final = 64 * 1024 * 1024
"""Bytes of post-call jobs (documents and transcripts) kept at most."""

_TERMINAL: Final = frozenset({"COMPLETED", "FAILED", "COMPLETED_WITH_ERRORS"})
_DONE: Final = frozenset({"COMPLETED", "COMPLETED_WITH_ERRORS"})
# Members a job has only once it completed (hidden while a sequence has not got there).
# Members a sequence job shows only once done (an enrollment job's JobProgress among them:
# SUBMITTED shows 0 %, and the seed's figure, 100 for a finished job, once it is done).
_WHEN_DONE: Final = ("Transcript", "CompletionTime", "EndedAt", "OutputDataConfig", "JobProgress")


@dataclass(frozen=True, slots=True)
class _Step:
    status: str
    seconds: float | None  # None: one call


@dataclass(slots=True)
class _Job:
    document: dict[str, Any]  # the job object in the service's shape
    status_key: str
    sequence: list[_Step]
    started: _dt.datetime | None = None  # when a timed sequence began
    polls: int = 0
    transcript: bytes | None = None  # the post-call JSON, for live Call Analytics jobs
    redacted: bytes | None = None  # its redacted version, when ContentRedactionOutput asked for one
    completion_key: str = "CompletionTime"
    _held: dict[str, Any] = field(default_factory=dict)  # members not shown before completion
    ended: _dt.datetime | None = None  # when a call first saw it in a terminal status

    def __post_init__(self) -> None:
        if self.sequence:
            self._held = {k: self.document.pop(k) for k in _WHEN_DONE if k in self.document}

    def _status(self, now: _dt.datetime) -> tuple[str, _dt.datetime]:
        """The status now, and when it began."""
        if self.sequence[0].seconds is None:
            step = self.sequence[min(self.polls, len(self.sequence) - 1)]
            self.polls += 1
            return step.status, now
        at = self.started or now
        elapsed = (now - at).total_seconds()
        for step in self.sequence[:-1]:
            assert step.seconds is not None
            if elapsed < step.seconds:
                return step.status, at
            elapsed -= step.seconds
            at += _dt.timedelta(seconds=step.seconds)
        return self.sequence[-1].status, at

    def current(self, now: _dt.datetime) -> object:
        """The status a call would last have seen (without counting as a call)."""
        if not self.sequence:
            return self.document.get(self.status_key)
        if self.sequence[0].seconds is None:
            return self.sequence[min(max(self.polls - 1, 0), len(self.sequence) - 1)].status
        return self._status(now)[0]  # by time: asking does not move it

    def view(self, now: _dt.datetime) -> dict[str, Any]:
        """The job as a call at ``now`` sees it."""
        if not self.sequence:
            return dict(self.document)
        status, since = self._status(now)
        document = dict(self.document)
        document[self.status_key] = status
        if status == "SUBMITTED" and "JobProgress" in self._held:
            document["JobProgress"] = {"PercentComplete": 0}
        if status in _TERMINAL:
            if status in _DONE:
                document.update(self._held)
            self.ended = self.ended or since  # a finished job's completion time never moves
            document.setdefault(self.completion_key, self.ended.timestamp())
        return document


def _job_not_found(name: str) -> ServiceError:
    # What the service (and moto) answer for a job name it does not know: a bad request,
    # not NotFoundException.
    return BadRequestException("The requested job couldn't be found. Check the job name and try your request again.")


@dataclass(frozen=True, slots=True)
class _Kind:
    list_key: str  # in the resources file
    name_key: str  # in the job object
    status_key: str
    response_key: str
    missing: Callable[[str], ServiceError]
    completion_key: str = "CompletionTime"


_TRANSCRIPTION: Final = _Kind(
    "TranscriptionJobs",
    "TranscriptionJobName",
    "TranscriptionJobStatus",
    "TranscriptionJob",
    _job_not_found,
)
_MEDICAL: Final = _Kind(
    "MedicalTranscriptionJobs",
    "MedicalTranscriptionJobName",
    "TranscriptionJobStatus",
    "MedicalTranscriptionJob",
    _job_not_found,
)
_CALL_ANALYTICS: Final = _Kind(
    "CallAnalyticsJobs",
    "CallAnalyticsJobName",
    "CallAnalyticsJobStatus",
    "CallAnalyticsJob",
    _job_not_found,
)
_ENROLLMENT: Final = _Kind(
    "SpeakerEnrollmentJobs",
    "JobId",
    "JobStatus",
    "Job",
    lambda name: ResourceNotFoundException(f"Job with id {name} was not found."),
    completion_key="EndedAt",
)
_BY_TARGET: Final = {
    "Transcribe.GetTranscriptionJob": (_TRANSCRIPTION, "TranscriptionJobName"),
    "Transcribe.GetMedicalTranscriptionJob": (_MEDICAL, "MedicalTranscriptionJobName"),
    "Transcribe.GetCallAnalyticsJob": (_CALL_ANALYTICS, "CallAnalyticsJobName"),
    "VoiceID.DescribeSpeakerEnrollmentJob": (_ENROLLMENT, "JobId"),
}


class JobStore:
    """Every job the endpoint knows, by kind and name (see the module docstring)."""

    def __init__(
        self,
        resources: Mapping[str, Any],
        *,
        clock: Callable[[], _dt.datetime],
        max_post_call_jobs: int = MAX_POST_CALL_JOBS,
        max_post_call_bytes: int = MAX_POST_CALL_BYTES,
    ) -> None:
        self.clock = clock
        self._jobs: dict[tuple[str, str], _Job] = {}
        # Post-call jobs come from the network: the oldest go first past either bound.
        # (Seeded jobs come from the resources file and stay.)
        self.max_post_call_jobs = max_post_call_jobs
        self.max_post_call_bytes = max_post_call_bytes
        self._post_call: OrderedDict[tuple[str, str], int] = OrderedDict()  # key -> bytes held
        self.post_call_bytes = 0
        for kind in (_TRANSCRIPTION, _MEDICAL, _CALL_ANALYTICS, _ENROLLMENT):
            self._seed(kind, resources.get(kind.list_key, []))

    def _seed(self, kind: _Kind, entries: Iterable[Any]) -> None:
        if not isinstance(entries, list):
            raise ParameterError("resources", f"{kind.list_key} in the resources file must be a list")
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get(kind.name_key), str):
                raise ParameterError("resources", f"{kind.list_key}[{i}] must be an object with a {kind.name_key}")
            document = dict(entry)
            where = f"{kind.list_key}[{i}]"
            sequence = _steps(document.pop("StatusSequence", []), where)
            _check_seed(document, kind, sequence, where)
            key = self._key(kind, document[kind.name_key], document.get("DomainId"))
            self._jobs[key] = _Job(
                document, kind.status_key, sequence, started=self.clock(), completion_key=kind.completion_key
            )

    @staticmethod
    def _key(kind: _Kind, name: str, domain: object = None) -> tuple[str, str]:
        scope = f"{kind.list_key}/{domain}" if kind is _ENROLLMENT else kind.list_key
        return scope, name

    # -- the API ------------------------------------------------------------------------------

    def handle(self, target: str, request: object) -> dict[str, Any]:
        """The response body for one call, or the service's error (raised)."""
        found = _BY_TARGET.get(target)
        if found is None:
            raise UnknownServiceError("UnknownOperationException", f"Unknown operation {target!r}.", status=400)
        kind, name_key = found
        if not isinstance(request, dict):
            raise _invalid(kind, "The request body must be a JSON object.")
        name = request.get(name_key)
        if not isinstance(name, str) or not name:
            raise _invalid(kind, _null(name_key))
        domain = request.get("DomainId")
        if kind is _ENROLLMENT and (not isinstance(domain, str) or not domain):
            raise _invalid(kind, _null("DomainId"))
        job = self._jobs.get(self._key(kind, name, domain))
        if job is None:
            raise kind.missing(name)
        return {kind.response_key: job.view(self.clock())}

    def transcript(self, name: str, *, redacted: bool = False) -> bytes | None:
        """The post-call transcript (or its redacted version) of a live Call Analytics job,
        once it completed."""
        job = self._jobs.get(self._key(_CALL_ANALYTICS, name))
        if job is None or job.current(self.clock()) != "COMPLETED":
            return None
        return job.redacted if redacted else job.transcript

    # -- post-call analytics ---------------------------------------------------------------------

    def post_call(self, stream: ServerStream, transcript_url: str) -> str | None:
        """Create the post-call job of a finished Call Analytics stream; its name, or None."""
        settings = stream.post_call_settings
        if settings is None:
            return None
        name = stream.session_id
        now = self.clock()
        utterances = [e for e in stream.finals if isinstance(e, UtteranceEvent)]
        document: dict[str, Any] = {
            "CallAnalyticsJobName": name,
            "LanguageCode": stream.params.get("language_code") or "en-US",
            "MediaSampleRateHertz": stream.params.sample_rate,
            "MediaFormat": {"pcm": "wav", "flac": "flac", "ogg-opus": "ogg"}[stream.params.media_encoding],
            "Media": {"MediaFileUri": f"{settings['OutputLocation'].rstrip('/')}/{name}.wav"},
            "CreationTime": now.timestamp(),
            "StartTime": now.timestamp(),
            "DataAccessRoleArn": settings["DataAccessRoleArn"],
            "ChannelDefinitions": stream.channel_definitions,
            "Settings": {},
        }
        if "ContentRedactionOutput" in settings:
            document["Settings"]["ContentRedaction"] = {
                "RedactionType": "PII",
                "RedactionOutput": settings["ContentRedactionOutput"],
            }
        working = max(1.0, stream.audio_seconds / 10)  # by time, as a real job takes
        output = settings.get("ContentRedactionOutput")  # redacted: only the redacted file
        redacted_url = transcript_url.replace("transcript.json", "redacted-transcript.json")
        if utterances:
            sequence = [_Step("QUEUED", 1.0), _Step("IN_PROGRESS", working), _Step("COMPLETED", None)]
            files = {"RedactedTranscriptFileUri": redacted_url} if output else {}
            if output != "redacted":
                files["TranscriptFileUri"] = transcript_url
            document["Transcript"] = files
        else:
            sequence = [_Step("QUEUED", 1.0), _Step("IN_PROGRESS", working), _Step("FAILED", None)]
            document["FailureReason"] = "The media file doesn't contain any speech. Check your file and try again."
        job = _Job(document, "CallAnalyticsJobStatus", sequence, started=now)
        if utterances:
            if output != "redacted":
                job.transcript = _post_call_json(stream, name, utterances, redacted=False)
            if output:
                job.redacted = _post_call_json(stream, name, utterances, redacted=True)
        key = self._key(_CALL_ANALYTICS, name)
        self._forget_post_call(key)  # a resumed session's job replaces its earlier one
        size = len(job.transcript or b"") + len(job.redacted or b"") + len(json.dumps(document))
        self._jobs[key] = job
        self._post_call[key] = size
        self.post_call_bytes += size
        while self._post_call and (
            len(self._post_call) > self.max_post_call_jobs or self.post_call_bytes > self.max_post_call_bytes
        ):
            self._forget_post_call(next(iter(self._post_call)))
        return name if key in self._jobs else None

    def _forget_post_call(self, key: tuple[str, str]) -> None:
        size = self._post_call.pop(key, None)
        if size is not None:
            self.post_call_bytes -= size
            del self._jobs[key]

    @property
    def post_call_jobs(self) -> int:
        return len(self._post_call)


def _steps(raw: object, where: str) -> list[_Step]:
    """A StatusSequence: all statuses (one per call) or all {Status, Seconds} steps (by time)."""
    shape = f"{where}.StatusSequence must be a list of statuses, or of {{Status, Seconds}} steps"
    if not isinstance(raw, list):
        raise ParameterError("resources", shape)
    if all(isinstance(step, str) for step in raw):
        return [_Step(step, None) for step in raw]
    steps = []
    for n, step in enumerate(raw):
        if not isinstance(step, dict) or not isinstance(step.get("Status"), str):
            raise ParameterError("resources", shape)
        seconds = step.get("Seconds", 0 if n == len(raw) - 1 else None)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= 86400 * 30:
            raise ParameterError("resources", f"{where}.StatusSequence[{n}].Seconds must be 0..2592000 seconds")
        steps.append(_Step(step["Status"], float(seconds)))
    return steps


def _check_seed(document: dict[str, Any], kind: _Kind, sequence: list[_Step], where: str) -> None:
    """Refuse a seed no service could return (the reason names the entry)."""
    status = sequence[-1].status if sequence else document.get(kind.status_key)
    transcript = document.get("Transcript")
    if not sequence and status in ("QUEUED", "IN_PROGRESS") and transcript:
        raise ParameterError(
            "resources", f"{where}: a {status} job has no transcript yet (Transcript is for COMPLETED)"
        )
    if status in _DONE and document.get("FailureReason"):
        raise ParameterError("resources", f"{where}: a {status} job has no FailureReason")
    progress = (document.get("JobProgress") or {}).get("PercentComplete") if kind is _ENROLLMENT else None
    if progress is not None:
        if not sequence and status == "SUBMITTED" and progress != 0:
            raise ParameterError("resources", f"{where}: a SUBMITTED job is at 0 %, not {progress} %")
        if status in _DONE and progress != 100:
            raise ParameterError("resources", f"{where}: a {status} job is at 100 %, not {progress} %")


def _null(name: str) -> str:
    """The service's words for a missing member (its name in camelCase)."""
    camel = name[:1].lower() + name[1:]
    return f"1 validation error detected: Value at '{camel}' failed to satisfy constraint: Member must not be null"


def _invalid(kind: _Kind, message: str) -> ServiceError:
    return ValidationException(message) if kind is _ENROLLMENT else BadRequestException(message)


def _post_call_json(stream: ServerStream, name: str, utterances: list[UtteranceEvent], *, redacted: bool) -> bytes:
    """The post-call output (:mod:`.postcall`) of a finished stream, as the file's bytes."""
    roles = {int(d["ChannelId"]): str(d["ParticipantRole"]) for d in stream.channel_definitions}
    loudness = {roles.get(c, "AGENT"): scores for c, scores in enumerate(stream.recognition.loudness)}
    categories = [e for e in stream.finals if isinstance(e, CategoryEvent)]
    language = str(stream.params.get("language_code") or "en-US")
    document = post_call_output(name, language, utterances, categories, loudness, redacted=redacted)
    return json.dumps(document).encode()
