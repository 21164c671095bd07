"""Fuzz target for the local endpoint's job API (the JSON calls on the HTTP port).

What a stranger controls there, after the socket: the body's bytes, the ``X-Amz-Target``
and the headers a signature is computed over (which may hold bytes that are not UTF-8,
decoded by aiohttp as surrogates). Each input goes through what ``_job_api`` runs:

* ``sigv4.verify_request`` over the fuzzed target and headers: only verification and
  signing errors escape (never a ``UnicodeEncodeError``), and nothing verifies without
  the secret;
* the body parsed as the endpoint parses it (``json.loads``: ``ValueError`` and
  ``RecursionError`` are its typed refusals), then ``JobStore.handle`` with the fuzzed
  target: only a ``ServiceError`` escapes, and an answer is a JSON-serialisable object.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import sys

import atheris

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

with atheris.instrument_imports():
    import sigv4
    from sigv4 import Credentials
    from streaming.local.jobstore import JobStore
    from streaming.proto.errors import ServiceError

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
SECRET = Credentials("AKIDSTREAMSCRIBELOCAL", "a secret the fuzzer never sees")
STORE = JobStore(
    {
        "TranscriptionJobs": [
            {"TranscriptionJobName": "meeting", "TranscriptionJobStatus": "COMPLETED", "StatusSequence": ["QUEUED"]}
        ],
        "SpeakerEnrollmentJobs": [{"JobId": "e1", "DomainId": "d1", "JobStatus": "IN_PROGRESS"}],
    },
    clock=lambda: NOW,
)
TARGETS = [
    "Transcribe.GetTranscriptionJob",
    "Transcribe.GetMedicalTranscriptionJob",
    "Transcribe.GetCallAnalyticsJob",
    "VoiceID.DescribeSpeakerEnrollmentJob",
    "",
]


NAME_KEYS = ["TranscriptionJobName", "MedicalTranscriptionJobName", "CallAnalyticsJobName", "JobId", "DomainId"]


def _authorization(fdp: atheris.FuzzedDataProvider) -> str:
    """Mostly well-formed Authorization headers with fuzzed parts, so verification gets
    past its parser to the scope, skew, key and canonical-request checks."""
    if fdp.ConsumeBool():
        return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 200))
    akid = fdp.PickValueInList([SECRET.access_key_id, fdp.ConsumeUnicode(20)])
    date = fdp.PickValueInList(["20261130", fdp.ConsumeUnicode(8)])
    service = fdp.PickValueInList(["transcribe", "voiceid", fdp.ConsumeUnicode(10)])
    signed = fdp.PickValueInList(["host;x-amz-date;x-amz-target", "host", fdp.ConsumeUnicode(30)])
    signature = fdp.ConsumeUnicode(64)
    return (
        f"AWS4-HMAC-SHA256 Credential={akid}/{date}/us-east-1/{service}/aws4_request, "
        f"SignedHeaders={signed}, Signature={signature}"
    )


def _body(fdp: atheris.FuzzedDataProvider) -> bytes:
    if fdp.ConsumeBool():
        return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 2048))
    document: dict[str, object] = {}
    for _ in range(fdp.ConsumeIntInRange(0, 3)):
        value = fdp.PickValueInList(["meeting", "e1", "d1", "", None, 7, [], {}, fdp.ConsumeUnicode(12)])
        document[fdp.PickValueInList(NAME_KEYS)] = value
    return json.dumps(document).encode()


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    target = fdp.PickValueInList(TARGETS)
    if fdp.ConsumeBool():
        target += fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 8))
    # aiohttp decodes header bytes that are not UTF-8 into lone surrogates: ConsumeUnicode
    # (not ...NoSurrogates) gives the verifier exactly that.
    headers = [
        ("x-amz-target", target),
        ("x-amz-date", fdp.PickValueInList(["20261130T120000Z", fdp.ConsumeUnicode(16)])),
        ("authorization", _authorization(fdp)),
        ("host", fdp.PickValueInList(["127.0.0.1:8444", fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 40))])),
    ]
    body = _body(fdp)
    try:
        sigv4.verify_request(
            "POST", "/", headers, credentials={SECRET.access_key_id: SECRET}, now=NOW, service="transcribe", body=body
        )
    except (sigv4.VerificationError, sigv4.SigningError):
        pass
    else:
        raise AssertionError("a job request verified without the secret")
    try:
        document = json.loads(body) if body else {}
    except (ValueError, RecursionError):
        return  # the endpoint's SerializationException
    try:
        answer = STORE.handle(target, document)
    except ServiceError:
        return
    json.dumps(answer)  # what the endpoint writes back


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
