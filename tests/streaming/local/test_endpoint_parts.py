"""The endpoint's other pure parts, without a socket: scripted faults, the job store, audio decoding."""

from __future__ import annotations

import array
import datetime as dt
import itertools
from typing import Any

import msgspec
import pytest

from streaming.local.decoding import AudioPipeline
from streaming.local.faults import FaultPlan, Reset
from streaming.local.jobstore import JobStore
from streaming.local.resources import load_resources
from streaming.local.worker import Recognition
from streaming.proto.errors import (
    AudioFormatError,
    BadRequestException,
    InternalFailureException,
    ParameterError,
    ResourceNotFoundException,
    ServiceError,
    UnknownServiceError,
    ValidationException,
)
from streaming.proto.models import UtteranceEvent
from streaming.proto.params import Operation, StreamParams
from tests.helpers import FIXTURES

T0 = dt.datetime(2026, 12, 1, 10, 0, 0, tzinfo=dt.UTC)
MINE = "0000aaaa-0000-4000-8000-000000000001"
OTHER = "1111bbbb-0000-4000-8000-000000000002"


def plan(*rules: dict[str, Any]) -> FaultPlan:
    return FaultPlan(load_resources({"Faults": list(rules)}).faults)


# -- scripted faults ------------------------------------------------------------------------------


def test_a_refused_open_acts_on_the_first_times_opens_of_each_matching_session() -> None:
    faults = plan({"SessionIdPrefix": "0000aaaa", "RefuseOpen": {"Exception": "LimitExceededException", "Times": 2}})
    op = Operation.TRANSCRIPTION
    codes = [getattr(faults.refuse_open(op, MINE), "code", None) for _ in range(3)]
    assert codes == ["LimitExceededException", "LimitExceededException", None]
    assert faults.refuse_open(op, OTHER) is None


def test_faults_in_a_stream_act_by_audio_position_once_per_session() -> None:
    faults = plan(
        {"SessionIdPrefix": "0000aaaa", "ExceptionAt": {"Seconds": 5, "Exception": "InternalFailureException"}},
        {"SessionIdPrefix": "0000aaaa", "ResetAt": {"Seconds": 8, "How": "stream"}},
        {"SessionIdPrefix": "0000aaaa", "StallResultsAt": {"Seconds": 2, "For": 30}},
    )
    stream = faults.for_stream(Operation.TRANSCRIPTION, MINE)
    assert stream.at(4.9) is None and stream.stall(1.9) == 0.0
    assert stream.stall(2.0) == 30 and stream.stall(3.0) == 0.0  # a stall acts once
    assert isinstance(stream.at(5.0), InternalFailureException)
    assert stream.at(9.0) == Reset("stream")
    assert stream.at(20.0) is None
    again = faults.for_stream(Operation.TRANSCRIPTION, MINE)  # the resumed stream, same session id
    assert again.at(20.0) is None and again.stall(20.0) == 0.0
    assert not faults.for_stream(Operation.TRANSCRIPTION, OTHER)  # no rule matches another session


def test_a_rule_for_one_operation_and_a_delay_for_every_stream() -> None:
    faults = plan(
        {
            "Operation": "StartMedicalStreamTranscription",
            "ExceptionAt": {"Seconds": 0, "Exception": "BadRequestException"},
        },
        {"DelayResults": 0.25},
    )
    standard = faults.for_stream(Operation.TRANSCRIPTION, OTHER)
    assert standard.delay == 0.25 and standard.at(10.0) is None
    assert isinstance(faults.for_stream(Operation.MEDICAL, OTHER).at(0.0), BadRequestException)


def test_the_job_api_is_throttled_for_the_first_calls_only() -> None:
    faults = plan({"JobApi": {"Exception": "ThrottlingException", "Times": 2}})
    assert [getattr(faults.job_call(), "code", None) for _ in range(3)] == [
        "ThrottlingException",
        "ThrottlingException",
        None,
    ]


# -- the job store --------------------------------------------------------------------------------

SEEDS = {
    "TranscriptionJobs": [
        {"TranscriptionJobName": "meeting", "StatusSequence": ["QUEUED", "IN_PROGRESS", "COMPLETED"]},
    ],
    "SpeakerEnrollmentJobs": [{"JobId": "enrol-1", "DomainId": "domain-1", "JobStatus": "COMPLETED"}],
}

JOB_REFUSALS: list[tuple[str, object, type[ServiceError], str]] = [
    ("Transcribe.DeleteEverything", {}, UnknownServiceError, "Unknown operation"),
    ("Transcribe.GetTranscriptionJob", [], BadRequestException, "must be a JSON object"),
    ("Transcribe.GetTranscriptionJob", {}, BadRequestException, "'transcriptionJobName' failed to satisfy"),
    ("Transcribe.GetTranscriptionJob", {"TranscriptionJobName": ""}, BadRequestException, "must not be null"),
    ("Transcribe.GetTranscriptionJob", {"TranscriptionJobName": "nope"}, BadRequestException, "couldn't be found"),
    (
        "Transcribe.GetMedicalTranscriptionJob",
        {"MedicalTranscriptionJobName": "meeting"},
        BadRequestException,
        "couldn't be found",
    ),
    ("VoiceID.DescribeSpeakerEnrollmentJob", {"JobId": "enrol-1"}, ValidationException, "'domainId'"),
    (
        "VoiceID.DescribeSpeakerEnrollmentJob",
        {"JobId": "enrol-1", "DomainId": "another"},
        ResourceNotFoundException,
        "enrol-1",
    ),
]


@pytest.mark.parametrize(("target", "body", "error", "words"), JOB_REFUSALS)
def test_each_refusal_of_the_job_store(target: str, body: object, error: type[ServiceError], words: str) -> None:
    store = JobStore(SEEDS, clock=lambda: T0)
    with pytest.raises(error) as refused:
        store.handle(target, body)
    assert words in refused.value.message


def test_seeded_jobs_answer_in_the_services_shape() -> None:
    store = JobStore(SEEDS, clock=lambda: T0)
    enrolment = store.handle("VoiceID.DescribeSpeakerEnrollmentJob", {"JobId": "enrol-1", "DomainId": "domain-1"})
    assert enrolment == {"Job": {"JobId": "enrol-1", "DomainId": "domain-1", "JobStatus": "COMPLETED"}}
    job = store.handle("Transcribe.GetTranscriptionJob", {"TranscriptionJobName": "meeting"})["TranscriptionJob"]
    assert job["TranscriptionJobName"] == "meeting" and job["TranscriptionJobStatus"] in ("QUEUED", "IN_PROGRESS")


@pytest.mark.parametrize(
    ("seeds", "words"),
    [
        ({"TranscriptionJobs": {"not": "a list"}}, "must be a list"),
        ({"TranscriptionJobs": [{"no": "name"}]}, "TranscriptionJobName"),
        ({"TranscriptionJobs": [{"TranscriptionJobName": "x", "StatusSequence": "COMPLETED"}]}, "StatusSequence"),
    ],
)
def test_seeds_no_service_could_hold_are_refused_at_load(seeds: dict[str, Any], words: str) -> None:
    with pytest.raises(Exception, match=words):
        JobStore(seeds, clock=lambda: T0)


def test_a_timed_sequence_advances_by_time_not_by_calls() -> None:
    now = [T0]
    seeds = {
        "TranscriptionJobs": [
            {
                "TranscriptionJobName": "timed",
                "Transcript": {"TranscriptFileUri": "s3://bucket/timed.json"},
                "StatusSequence": [
                    {"Status": "QUEUED", "Seconds": 5},
                    {"Status": "IN_PROGRESS", "Seconds": 30},
                    {"Status": "COMPLETED"},
                ],
            }
        ]
    }
    store = JobStore(seeds, clock=lambda: now[0])

    def look(seconds: float) -> dict[str, Any]:
        now[0] = T0 + dt.timedelta(seconds=seconds)
        job: dict[str, Any] = store.handle("Transcribe.GetTranscriptionJob", {"TranscriptionJobName": "timed"})
        return job["TranscriptionJob"]

    assert [look(0)["TranscriptionJobStatus"] for _ in range(5)] == ["QUEUED"] * 5  # calls do not move it
    early = look(34.9)
    assert early["TranscriptionJobStatus"] == "IN_PROGRESS" and "Transcript" not in early  # not before it is done
    done = look(35.0)
    assert done["TranscriptionJobStatus"] == "COMPLETED" and done["Transcript"]["TranscriptFileUri"]
    assert done["CompletionTime"] == (T0 + dt.timedelta(seconds=35)).timestamp()  # when it completed, not when asked
    assert look(3600)["CompletionTime"] == done["CompletionTime"]


def test_an_enrollment_job_shows_its_progress_by_its_status() -> None:
    seeds = {
        "SpeakerEnrollmentJobs": [
            {"DomainId": "d", "JobId": "j", "StatusSequence": ["SUBMITTED", "IN_PROGRESS", "COMPLETED"],
             "JobProgress": {"PercentComplete": 100}}
        ]
    }  # fmt: skip
    store = JobStore(seeds, clock=lambda: T0)
    seen = [
        store.handle("VoiceID.DescribeSpeakerEnrollmentJob", {"DomainId": "d", "JobId": "j"})["Job"] for _ in range(3)
    ]
    assert [(j["JobStatus"], j.get("JobProgress")) for j in seen] == [
        ("SUBMITTED", {"PercentComplete": 0}),
        ("IN_PROGRESS", None),
        ("COMPLETED", {"PercentComplete": 100}),
    ]


def test_a_job_completed_by_calls_keeps_its_completion_time() -> None:
    now = [T0]
    seeds = {"TranscriptionJobs": [{"TranscriptionJobName": "polled", "StatusSequence": ["IN_PROGRESS", "COMPLETED"]}]}
    store = JobStore(seeds, clock=lambda: now[0])

    def look(seconds: float) -> dict[str, Any]:
        now[0] = T0 + dt.timedelta(seconds=seconds)
        job: dict[str, Any] = store.handle("Transcribe.GetTranscriptionJob", {"TranscriptionJobName": "polled"})
        return job["TranscriptionJob"]

    assert "CompletionTime" not in look(1)
    done = look(2)
    assert done["TranscriptionJobStatus"] == "COMPLETED"
    assert done["CompletionTime"] == (T0 + dt.timedelta(seconds=2)).timestamp()
    assert [look(s)["CompletionTime"] for s in (3, 60, 3600)] == [done["CompletionTime"]] * 3


@pytest.mark.parametrize(
    ("seed", "words"),
    [
        ({"TranscriptionJobName": "a", "TranscriptionJobStatus": "QUEUED", "Transcript": {"TranscriptFileUri": "s3://b/k"}}, "no transcript yet"),
        ({"TranscriptionJobName": "a", "TranscriptionJobStatus": "COMPLETED", "FailureReason": "boom"}, "no FailureReason"),
        ({"TranscriptionJobName": "a", "StatusSequence": [{"Status": "QUEUED", "Seconds": -1}, {"Status": "COMPLETED"}]}, "Seconds"),
        ({"TranscriptionJobName": "a", "StatusSequence": ["QUEUED", {"Status": "COMPLETED"}]}, "StatusSequence"),
    ],
)  # fmt: skip
def test_a_seed_no_service_could_return_is_refused_with_the_reason(seed: dict[str, Any], words: str) -> None:
    with pytest.raises(ParameterError, match=words):
        JobStore({"TranscriptionJobs": [seed]}, clock=lambda: T0)


@pytest.mark.parametrize(
    ("seed", "words"),
    [
        ({"JobId": "e", "DomainId": "d", "JobStatus": "SUBMITTED", "JobProgress": {"PercentComplete": 100}}, "0 %"),
        ({"JobId": "e", "DomainId": "d", "JobStatus": "COMPLETED", "JobProgress": {"PercentComplete": 40}}, "100 %"),
    ],
)
def test_an_enrollment_seed_at_an_impossible_progress_is_refused(seed: dict[str, Any], words: str) -> None:
    with pytest.raises(ParameterError, match=words):
        JobStore({"SpeakerEnrollmentJobs": [seed]}, clock=lambda: T0)


# -- decoding -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "encoding", "rate"),
    [("fox.flac", "flac", 16000), ("fox.opus", "ogg-opus", 48000), ("fox.pcm", "pcm", 16000)],
)
def test_each_encoding_decodes_to_16_khz_pcm_in_any_split(name: str, encoding: str, rate: int) -> None:
    data = (FIXTURES / name).read_bytes()
    whole = AudioPipeline(encoding, rate)
    one = [whole.feed(data), whole.flush()]
    pieces = AudioPipeline(encoding, rate)
    split = [pieces.feed(data[i : i + 1000]) for i in range(0, len(data), 1000)] + [pieces.flush()]
    seconds = sum(d.seconds for d in one)
    assert seconds == pytest.approx(len((FIXTURES / "fox.pcm").read_bytes()) / 32000, abs=0.05)
    assert sum(d.seconds for d in split) == pytest.approx(seconds, abs=1e-6)
    pcm = b"".join(d.channels[0] for d in one if d.channels)
    assert len(pcm) == pytest.approx(seconds * 32000, abs=64)  # 16 kHz, 16-bit, mono


def test_telephone_audio_is_resampled_to_16_khz() -> None:
    data = (FIXTURES / "fox-8k.pcm").read_bytes()
    pipeline = AudioPipeline("pcm", 8000)
    decoded = [pipeline.feed(data), pipeline.flush()]
    assert sum(d.seconds for d in decoded) == pytest.approx(len(data) / 16000)
    assert sum(len(d.channels[0]) for d in decoded if d.channels) == pytest.approx(len(data) * 2, abs=64)


@pytest.mark.parametrize(("encoding", "data"), [("flac", b"fLaC" + bytes(60)), ("ogg-opus", b"OggS" + bytes(60))])
def test_broken_audio_is_a_typed_error(encoding: str, data: bytes) -> None:
    with pytest.raises(AudioFormatError):
        pipeline = AudioPipeline(encoding, 16000)
        pipeline.feed(data)
        pipeline.flush()
    with pytest.raises(AudioFormatError, match="unsupported media encoding"):
        AudioPipeline("mp3", 16000)


# -- the recognition worker -----------------------------------------------------------------------

STANDARD = StreamParams.build(
    Operation.TRANSCRIPTION, language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
)


def recognise(params: StreamParams, data: bytes, batch: int, **kw: Any) -> list[Any]:
    worker = Recognition(params, engine=kw.pop("engine", "pocketsphinx"), resources=None)
    options: dict[str, Any] = {"channels": 1, "all_channels": False, "roles": {}, **kw}
    try:
        events = []
        for i in range(0, len(data), batch):
            events += worker.process(data[i : i + batch], False, **options)
        return events + worker.process(b"", True, **options)
    finally:
        worker.close()


def finals(events: list[Any]) -> list[bytes]:
    """Final results to the byte, but for the ResultId (a fresh UUID each time, as the service's)."""
    return [
        msgspec.json.encode(msgspec.structs.replace(result, result_id=""))
        for event in events
        for result in event.transcript.results
        if not result.is_partial
    ]


def every_result(events: list[Any]) -> list[bytes]:
    """Partials and finals to the byte, Stable flags included, but for the ResultId."""
    return [
        msgspec.json.encode(msgspec.structs.replace(result, result_id=""))
        for event in events
        for result in event.transcript.results
    ]


def test_the_worker_gives_the_same_results_however_the_audio_is_batched() -> None:
    fox = (FIXTURES / "fox.pcm").read_bytes()
    # The endpoint hands over what is queued, up to 16 KiB: a busy machine batches more.
    runs = [finals(recognise(STANDARD, fox, batch)) for batch in (3200, 16384, len(fox))]
    assert runs[0] and runs[0] == runs[1] == runs[2]
    assert b"The quick brown fox" in runs[0][0]
    # Partials too, with their Stable flags: a partial every 120 ms of audio, whatever the batching.
    stabilized = StreamParams.build(
        Operation.TRANSCRIPTION,
        language_code="en-US",
        media_sample_rate_hz=16000,
        media_encoding="pcm",
        enable_partial_results_stabilization=True,
        partial_results_stability="high",
    )
    partials = [every_result(recognise(stabilized, fox, batch)) for batch in (3200, 16384, len(fox))]
    assert len(partials[0]) > 10 and partials[0] == partials[1] == partials[2]


def test_flac_and_pcm_of_the_same_speech_give_the_same_finals() -> None:
    flac = StreamParams.build(
        Operation.TRANSCRIPTION, language_code="en-US", media_sample_rate_hz=16000, media_encoding="flac"
    )
    from_flac = finals(recognise(flac, (FIXTURES / "fox.flac").read_bytes(), 4096))
    assert from_flac == finals(recognise(STANDARD, (FIXTURES / "fox.pcm").read_bytes(), 3200))


def test_without_an_engine_audio_is_decoded_and_counted_and_nothing_is_heard() -> None:
    fox = (FIXTURES / "fox.pcm").read_bytes()
    worker = Recognition(STANDARD, engine="none", resources=None)
    events = worker.process(fox, True, channels=1, all_channels=False, roles={})
    assert events == [] and worker.audio_seconds == pytest.approx(len(fox) / 32000)


def test_call_analytics_channels_get_their_roles() -> None:
    params = StreamParams.build(
        Operation.CALL_ANALYTICS, language_code="en-US", media_sample_rate_hz=16000, media_encoding="flac"
    )
    events = recognise(
        params,
        (FIXTURES / "call.flac").read_bytes(),
        16384,
        channels=2,
        all_channels=True,
        roles={0: "AGENT", 1: "CUSTOMER"},
    )
    roles = {e.participant_role for e in events if isinstance(e, UtteranceEvent) and not e.is_partial}
    assert roles == {"AGENT", "CUSTOMER"}


def test_audio_that_is_not_its_encoding_is_the_services_bad_request() -> None:
    flac = StreamParams.build(
        Operation.TRANSCRIPTION, language_code="en-US", media_sample_rate_hz=16000, media_encoding="flac"
    )
    with pytest.raises(BadRequestException, match="Your audio is not valid flac"):
        recognise(flac, b"fLaC" + bytes(200), 4096)


def test_a_voice_change_inside_one_segment_gets_a_speaker_change_item() -> None:
    # two-voices.flac with the pause between its two speakers cut to 80 ms: one segment.
    pipeline = AudioPipeline("flac", 16000)
    decoded = pipeline.feed((FIXTURES / "two-voices.flac").read_bytes())
    pcm = decoded.channels[0] + pipeline.flush().channels[0]
    samples = array.array("h")
    samples.frombytes(pcm)
    loud = [max(abs(v) for v in samples[i : i + 160]) > 300 for i in range(0, len(samples) - 160, 160)]
    middle = [i for i in range(len(loud) // 5, len(loud) * 4 // 5) if not loud[i]]
    runs, start = [], middle[0]
    for previous, current in itertools.pairwise(middle):
        if current != previous + 1:
            runs.append((start, previous + 1))
            start = current
    runs.append((start, middle[-1] + 1))
    gap_start, gap_end = max(runs, key=lambda r: r[1] - r[0])  # the pause between the speakers
    joined = pcm[: (gap_start + 8) * 320] + pcm[gap_end * 320 :]
    params = StreamParams.build(
        Operation.TRANSCRIPTION,
        language_code="en-US",
        media_sample_rate_hz=16000,
        media_encoding="pcm",
        show_speaker_label=True,
    )
    events = recognise(params, joined, 3200)
    (final,) = [r for e in events for r in e.transcript.results if not r.is_partial]
    items = final.alternatives[0].items
    changes = [k for k, i in enumerate(items) if i.type == "speaker-change"]
    assert len(changes) == 1
    before = {i.speaker for i in items[: changes[0]] if i.type == "pronunciation"}
    after = {i.speaker for i in items[changes[0] + 1 :] if i.type == "pronunciation"}
    assert before == {"0"} and after == {"1"}
    change, first_after = items[changes[0]], items[changes[0] + 1]
    assert change.start_time == change.end_time == first_after.start_time and change.speaker is None
    assert final.alternatives[0].transcript.startswith("Thank you for calling")
