"""Every parameter read by value, over the whole table, without a socket.

A parameter sent with its default value (``false`` for every boolean, as smithy-based
SDKs send them; ``spoken`` for the transcript format) must give the same stream as one
left out: the same admission, the same result events for the same recognised speech.
The socket-level test of the same rule is ``test_smithy_requests.py``.
"""

from __future__ import annotations

import pytest

from streaming.local.recognizer import Segment, Word
from streaming.local.results import ResultBuilder
from streaming.proto.messages import encode_result_event
from streaming.proto.params import PARAMETERS, Operation, StreamParams

BASE = {"language_code": "en-US", "media_sample_rate_hz": 16000, "media_encoding": "pcm"}
PER_OPERATION = {
    Operation.TRANSCRIPTION: {},
    Operation.MEDICAL: {"specialty": "PRIMARYCARE", "type": "DICTATION"},
    Operation.CALL_ANALYTICS: {},
}
# The defaults the API reference gives, beyond false for every boolean.
DEFAULTS = {"transcript_format": "spoken"}


def explicit_defaults() -> list[tuple[Operation, str, object]]:
    cases: list[tuple[Operation, str, object]] = []
    for operation in Operation:
        for param in PARAMETERS:
            if operation not in param.operations:
                continue
            if param.kind is bool:
                cases.append((operation, param.name, False))
            elif param.name in DEFAULTS:
                cases.append((operation, param.name, DEFAULTS[param.name]))
    return cases


CASES = explicit_defaults()


def speech() -> list[list[Segment]]:
    """What a recogniser hands over for one call: a growing partial, then its final."""
    words = [
        Word("my", 0.3, 0.5, 0.9),
        Word("name", 0.5, 0.8, 0.9),
        Word("is", 0.8, 0.9, 0.8),
        Word("john", 0.9, 1.3, 0.7),
        Word("call", 1.5, 1.8, 0.9),
        Word("five", 1.8, 2.1, 0.9),
        Word("five", 2.1, 2.4, 0.9),
        Word("five", 2.4, 2.7, 0.9),
    ]
    return [
        [Segment("s1", 0, 0.3, 1.3, words[:4], is_partial=True)],
        [Segment("s1", 0, 0.3, 2.7, words, is_partial=True)],
        [Segment("s1", 0, 0.3, 2.7, words, is_partial=False, pitch=120.0)],
    ]


def run(params: StreamParams) -> list[bytes]:
    builder = ResultBuilder(params)
    out = []
    for segments in speech():
        out += [encode_result_event(event) for event in builder.events(segments, 3.0)]
    out += [encode_result_event(event) for event in builder.finish(3.0)]
    return out


def test_the_table_has_the_cases_smithy_sdks_send() -> None:
    sent = {(op, name) for op, name, _ in CASES}
    assert (Operation.TRANSCRIPTION, "identify_language") in sent
    assert (Operation.TRANSCRIPTION, "identify_multiple_languages") in sent
    assert (Operation.MEDICAL, "show_speaker_label") in sent
    assert (Operation.CALL_ANALYTICS, "enable_partial_results_stabilization") in sent


@pytest.mark.parametrize(("operation", "name", "value"), CASES, ids=[f"{op.value}-{n}" for op, n, _ in CASES])
def test_a_default_sent_explicitly_gives_the_same_stream(operation: Operation, name: str, value: object) -> None:
    left_out = StreamParams.build(operation, **BASE, **PER_OPERATION[operation])
    explicit = StreamParams.build(operation, **BASE, **PER_OPERATION[operation], **{name: value})
    assert explicit.get(name) == value  # it was sent, and parsed as sent
    events = run(explicit)
    assert events and events == run(left_out)


@pytest.mark.parametrize("operation", list(Operation))
def test_every_boolean_false_at_once_over_the_wire(operation: Operation) -> None:
    # As the request arrives: header text, parsed by the endpoint's own reader.
    from streaming.proto.params import params_from_headers

    base = StreamParams.build(operation, **BASE, **PER_OPERATION[operation])
    headers = [(p.header, t) for p, t in base.wire_items()]
    headers += [(p.header, "false") for p in PARAMETERS if operation in p.operations and p.kind is bool]
    smithy = params_from_headers(operation, headers)
    assert all(smithy.get(p.name) is False for p in PARAMETERS if operation in p.operations and p.kind is bool)
    assert run(smithy) == run(base)
