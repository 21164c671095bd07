"""The service's features on the local endpoint, over real sockets, asserting the JSON it sends.

The requests come from independent clients (botocore presigns, bare event-stream frames
over the websockets library) so the wire shapes are checked as another SDK would see them,
and from streamscribe's own client where its typed events are the point.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import av
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

import eventstream
from streaming import TranscribeStreamingClient, open_audio
from streaming.local import DEV_CREDENTIALS, LocalEndpoint
from streaming.local.resources import BUILT_IN
from streaming.proto.errors import BadRequestException, ParameterError
from tests.helpers import FIXTURES, word_error_rate

from .raw_clients import AUDIO_HEADERS, botocore_presigned, chunks

RESOURCES: dict[str, Any] = {
    "Vocabularies": [
        {"VocabularyName": "medical-words", "LanguageCode": "en-US", "Phrases": ["quick-brown-fox"]},
        {"VocabularyName": "french-words", "LanguageCode": "fr-FR", "Phrases": ["bonjour"]},
        *BUILT_IN["Vocabularies"],  # example-vocabulary, as --resources example gives it
    ],
    "VocabularyFilters": [
        {"VocabularyFilterName": "animals", "LanguageCode": "en-US", "Words": ["fox", "dog"]},
        {"VocabularyFilterName": "animaux", "LanguageCode": "fr-FR", "Words": ["fox", "dog"]},
    ],
    "CallAnalyticsCategories": [
        {
            "CategoryName": "unhappy-customer",
            "Rules": [
                {"TranscriptFilter": {"Targets": ["terrible problem"], "ParticipantRole": "CUSTOMER"}},
                {"SentimentFilter": {"Sentiments": ["NEGATIVE"], "ParticipantRole": "CUSTOMER"}},
            ],
        },
        {
            "CategoryName": "polite-opening",
            "Rules": [
                {
                    "TranscriptFilter": {
                        "Targets": ["for calling"],
                        "ParticipantRole": "AGENT",
                        "AbsoluteTimeRange": {"First": 10000},
                    }
                }
            ],
        },
        {
            "CategoryName": "no-refund-offered",
            "Rules": [{"TranscriptFilter": {"Targets": ["refund"], "ParticipantRole": "AGENT", "Negate": True}}],
        },
        {
            "CategoryName": "never-matches",
            "Rules": [{"TranscriptFilter": {"Targets": ["weather"], "ParticipantRole": "CUSTOMER"}}],
        },
    ],
}


@pytest.fixture
async def ep() -> AsyncIterator[LocalEndpoint]:
    async with LocalEndpoint(tls="none", resources=RESOURCES) as endpoint:
        yield endpoint


def call_audio() -> tuple[bytes, int]:
    """call.flac decoded by PyAV into interleaved s16le stereo, as a telephony app streams it."""
    out = bytearray()
    with av.open(str(FIXTURES / "call.flac")) as container:
        stream = container.streams.audio[0]
        rate = stream.rate
        packed = av.AudioResampler(format="s16", layout="stereo", rate=rate)  # planar -> interleaved
        for frame in container.decode(stream):
            for converted in packed.resample(frame):
                out += bytes(converted.planes[0])[: converted.samples * 4]
    return bytes(out), rate


async def exchange(ep: LocalEndpoint, path: str, query: dict[str, str], frames: list[bytes]) -> list[dict[str, Any]]:
    """Every message the endpoint sends back, as ``{"type": ..., "body": json}``."""
    url = botocore_presigned(f"{ep.websocket_url}{path}?{urlencode(query)}", DEV_CREDENTIALS)
    out: list[dict[str, Any]] = []
    async with connect(url, max_size=None) as ws:

        async def send() -> None:
            with contextlib.suppress(ConnectionClosed):  # a refusal closes the socket first
                for frame in frames:
                    await ws.send(frame)
                await ws.send(eventstream.encode(AUDIO_HEADERS, b""))

        sender = asyncio.create_task(send())
        decoder = eventstream.Decoder()
        async for data in ws:
            for message in decoder.feed(data):
                kind = message.headers.get(":event-type") or message.headers.get(":exception-type")
                out.append({"type": kind, "body": json.loads(message.payload)})
        await sender
    return out


def configuration(body: dict[str, Any]) -> bytes:
    return eventstream.encode(
        {":message-type": "event", ":event-type": "ConfigurationEvent", ":content-type": "application/json"},
        json.dumps(body).encode(),
    )


CA_PATH = "/call-analytics-stream-transcription-websocket"
ROLES = {
    "ChannelDefinitions": [
        {"ChannelId": 0, "ParticipantRole": "AGENT"},
        {"ChannelId": 1, "ParticipantRole": "CUSTOMER"},
    ]
}


async def call_analytics(ep: LocalEndpoint, **extra: str) -> list[dict[str, Any]]:
    pcm, rate = call_audio()
    query = {"language-code": "en-US", "media-encoding": "pcm", "sample-rate": str(rate), **extra}
    frames = [configuration(ROLES)] + [eventstream.encode(AUDIO_HEADERS, c) for c in chunks(pcm, 6400)]
    return await exchange(ep, CA_PATH, query, frames)


def transcript_results(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every Result of every TranscriptEvent (standard and medical), in order."""
    return [r for m in messages if m["type"] == "TranscriptEvent" for r in m["body"]["Transcript"]["Results"]]


def utterances(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["body"] for m in messages if m["type"] == "UtteranceEvent"]


async def test_call_analytics_recognises_both_participants_of_stereo_pcm(ep: LocalEndpoint) -> None:
    messages = await call_analytics(ep)
    assert not [m for m in messages if m["type"] not in ("UtteranceEvent", "CategoryEvent")]
    events = utterances(messages)
    finals = {e["ParticipantRole"]: e for e in events if not e["IsPartial"]}
    assert set(finals) == {"AGENT", "CUSTOMER"}
    agent_text = (FIXTURES / "call-agent.txt").read_text()
    customer_text = (FIXTURES / "call-customer.txt").read_text()
    assert word_error_rate(agent_text, finals["AGENT"]["Transcript"]) <= 0.25
    assert word_error_rate(customer_text, finals["CUSTOMER"]["Transcript"]) <= 0.25
    # Partials and their final share an id; each role keeps its own ids.
    for event in events:
        final = next(f for f in finals.values() if f["UtteranceId"] == event["UtteranceId"])
        assert event["ParticipantRole"] == final["ParticipantRole"]
    # The customer answers after the agent: offsets are on the call's timeline.
    assert finals["CUSTOMER"]["BeginOffsetMillis"] >= finals["AGENT"]["EndOffsetMillis"] - 500
    for final in finals.values():
        items = final["Items"]
        assert final["BeginOffsetMillis"] <= items[0]["BeginOffsetMillis"] <= items[-1]["EndOffsetMillis"]
        assert items[-1] == {
            "BeginOffsetMillis": items[-2]["EndOffsetMillis"],
            "EndOffsetMillis": items[-2]["EndOffsetMillis"],
            "Type": "punctuation",
            "Content": ".",
            "VocabularyFilterMatch": False,
        }
        assert final["LanguageCode"] == "en-US"
        assert final["Sentiment"] in ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")
    assert finals["AGENT"]["Sentiment"] == "POSITIVE"  # "thank you for calling ... how can I help"
    assert finals["CUSTOMER"]["Sentiment"] == "NEGATIVE"  # "never arrived ... a terrible problem"
    # The customer's issue, by character offsets into the transcript.
    issues = finals["CUSTOMER"]["IssuesDetected"]
    assert issues
    said = [
        finals["CUSTOMER"]["Transcript"][i["CharacterOffsets"]["Begin"] : i["CharacterOffsets"]["End"]] for i in issues
    ]
    assert any("never arrive" in s or "problem" in s for s in said), said
    assert "IssuesDetected" not in finals["AGENT"]  # the service leaves empty lists out
    assert all("Sentiment" not in e for e in events if e["IsPartial"])


async def test_categories_from_the_resources_file(ep: LocalEndpoint) -> None:
    messages = await call_analytics(ep)
    categories = [m["body"] for m in messages if m["type"] == "CategoryEvent"]
    matched = [name for c in categories for name in c["MatchedCategories"]]
    assert sorted(matched) == ["no-refund-offered", "polite-opening", "unhappy-customer"]  # each once
    for event in categories:
        for name in event["MatchedCategories"]:
            ranges = event["MatchedDetails"][name]["TimestampRanges"]
            assert all(r["BeginOffsetMillis"] < r["EndOffsetMillis"] for r in ranges)
            assert bool(ranges) == (name != "no-refund-offered")  # a Negate rule points at nothing
    # A category is sent after the final that completes it; one with Negate at the end.
    order = [m["type"] if m["type"] != "CategoryEvent" else m["body"]["MatchedCategories"][0] for m in messages]
    assert order[-1] == "no-refund-offered"


async def test_call_analytics_on_two_channel_flac_with_our_client(ep: LocalEndpoint) -> None:
    client = TranscribeStreamingClient(endpoint=ep.http2_url)
    source = open_audio(FIXTURES / "call.flac")
    async with client.start_call_analytics_stream_transcription(
        language_code="en-US",
        media_sample_rate_hz=source.sample_rate,
        media_encoding=source.media_encoding,
        channel_definitions=ROLES["ChannelDefinitions"],
    ) as stream:
        sender = asyncio.create_task(stream.send_from(source, speed=8.0))
        events = [e async for e in stream]
        await sender
    roles = {e.participant_role for e in events if getattr(e, "is_partial", True) is False}
    assert roles == {"AGENT", "CUSTOMER"}


async def test_pii_identification_and_redaction(ep: LocalEndpoint) -> None:
    pcm = (FIXTURES / "numbers.pcm").read_bytes()
    frames = [eventstream.encode(AUDIO_HEADERS, c) for c in chunks(pcm)]
    base = {"language-code": "en-US", "media-encoding": "pcm", "sample-rate": "16000"}
    path = "/stream-transcription-websocket"

    def final(messages: list[dict[str, Any]]) -> dict[str, Any]:
        results = transcript_results(messages)
        return next(r for r in results if not r["IsPartial"])["Alternatives"][0]

    plain = final(await exchange(ep, path, base, frames))
    assert plain["Transcript"] == "My phone number is 5551234."  # digits said one by one: one number
    assert "Entities" not in plain
    number = next(i for i in plain["Items"] if i["Content"] == "5551234")
    words = [i for i in plain["Items"] if i["Type"] == "pronunciation"]
    assert number["StartTime"] < number["EndTime"] and number is words[-1]

    found = final(await exchange(ep, path, {**base, "content-identification-type": "PII"}, frames))
    (entity,) = found["Entities"]
    assert entity["Category"] == "PII" and entity["Type"] == "PHONE" and entity["Content"] == "5551234"
    assert (entity["StartTime"], entity["EndTime"]) == (number["StartTime"], number["EndTime"])
    assert 0 < entity["Confidence"] <= 1

    redacted = final(await exchange(ep, path, {**base, "content-redaction-type": "PII"}, frames))
    assert redacted["Transcript"] == "My phone number is [PII]."
    assert [i["Content"] for i in redacted["Items"]][-2:] == ["[PII]", "."]

    narrowed = final(
        await exchange(ep, path, {**base, "content-redaction-type": "PII", "pii-entity-types": "SSN,EMAIL"}, frames)
    )
    assert narrowed["Transcript"] == "My phone number is 5551234."  # a phone is not in the list


async def test_medical_phi_identification(ep: LocalEndpoint) -> None:
    pcm = (FIXTURES / "numbers.pcm").read_bytes()
    frames = [eventstream.encode(AUDIO_HEADERS, c) for c in chunks(pcm)]
    query = {
        "language-code": "en-US",
        "media-encoding": "pcm",
        "sample-rate": "16000",
        "specialty": "PRIMARYCARE",
        "type": "DICTATION",
        "content-identification-type": "PHI",
    }
    messages = await exchange(ep, "/medical-stream-transcription-websocket", query, frames)
    results = transcript_results(messages)
    final = next(r for r in results if not r["IsPartial"])["Alternatives"][0]
    (entity,) = final["Entities"]
    assert entity["Category"] == "PHI" and entity["Content"] == "5551234" and "Type" not in entity


async def test_vocabulary_filters_mask_remove_and_tag(ep: LocalEndpoint) -> None:
    pcm = (FIXTURES / "fox.pcm").read_bytes()
    frames = [eventstream.encode(AUDIO_HEADERS, c) for c in chunks(pcm)]
    base = {
        "language-code": "en-US",
        "media-encoding": "pcm",
        "sample-rate": "16000",
        "vocabulary-filter-name": "animals",
    }
    seen = {}
    for method in ("mask", "remove", "tag"):
        messages = await exchange(
            ep, "/stream-transcription-websocket", {**base, "vocabulary-filter-method": method}, frames
        )
        results = transcript_results(messages)
        seen[method] = [r for r in results if not r["IsPartial"]][-1]["Alternatives"][0]
        for result in results:  # partials are filtered too
            text = result["Alternatives"][0]["Transcript"].lower()
            assert " fox" not in text or method == "tag"
    assert "***" in seen["mask"]["Transcript"] and "fox" not in seen["mask"]["Transcript"].lower()
    masked = [i for i in seen["mask"]["Items"] if i["Content"] == "***"]
    assert masked and all(i["VocabularyFilterMatch"] for i in masked)
    assert "fox" not in seen["remove"]["Transcript"].lower() and "***" not in seen["remove"]["Transcript"]
    tagged = [i for i in seen["tag"]["Items"] if i["VocabularyFilterMatch"]]
    assert {i["Content"].lower() for i in tagged} <= {"fox", "dog"} and tagged
    assert "fox" in seen["tag"]["Transcript"].lower()


async def test_custom_vocabulary_changes_recognition(ep: LocalEndpoint) -> None:
    """A word pocketsphinx does not know, taught by SoundsLike, then shown by DisplayAs."""
    pcm = (FIXTURES / "vocabulary.pcm").read_bytes()
    frames = [eventstream.encode(AUDIO_HEADERS, c) for c in chunks(pcm)]
    base = {"language-code": "en-US", "media-encoding": "pcm", "sample-rate": "16000"}

    async def transcript(**extra: str) -> str:
        messages = await exchange(ep, "/stream-transcription-websocket", {**base, **extra}, frames)
        results = transcript_results(messages)
        return " ".join(r["Alternatives"][0]["Transcript"] for r in results if not r["IsPartial"])

    without = await transcript()
    assert "StreamScribe" not in without
    with_vocabulary = await transcript(**{"vocabulary-name": "example-vocabulary"})
    assert "StreamScribe" in with_vocabulary, with_vocabulary


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ({"vocabulary-name": "nope"}, "vocabulary couldn't be found"),
        ({"vocabulary-filter-name": "nope"}, "vocabulary filter couldn't be found"),
        ({"language-model-name": "nope"}, "language model couldn't be found"),
    ],
)
async def test_unknown_resources_are_refused(ep: LocalEndpoint, query, needle) -> None:
    base = {"language-code": "en-US", "media-encoding": "pcm", "sample-rate": "16000"}
    messages = await exchange(ep, "/stream-transcription-websocket", {**base, **query}, [])
    assert [m["type"] for m in messages] == ["BadRequestException"]
    assert needle in messages[0]["body"]["Message"]


async def test_resources_in_another_language_are_silently_not_applied(ep: LocalEndpoint) -> None:
    """The API reference: "If the languages don't match, the custom vocabulary [filter,
    language model] isn't applied. There are no errors or warnings"."""
    pcm = (FIXTURES / "fox.pcm").read_bytes()
    frames = [eventstream.encode(AUDIO_HEADERS, c) for c in chunks(pcm)]
    base = {"language-code": "en-US", "media-encoding": "pcm", "sample-rate": "16000"}

    async def finals(**extra: str) -> str:
        messages = await exchange(ep, "/stream-transcription-websocket", {**base, **extra}, frames)
        assert not [m for m in messages if m["type"] != "TranscriptEvent"], messages
        return " ".join(r["Alternatives"][0]["Transcript"] for r in transcript_results(messages) if not r["IsPartial"])

    english_filter = await finals(**{"vocabulary-filter-name": "animals"})
    assert "fox" not in english_filter.lower() and "***" in english_filter  # applied: masked
    french_filter = await finals(**{"vocabulary-filter-name": "animaux", "vocabulary-name": "french-words"})
    assert "fox" in french_filter.lower() and "***" not in french_filter  # not applied, no error


async def test_vocabulary_names_with_language_identification(ep: LocalEndpoint) -> None:
    base = {
        "identify-language": "true",
        "language-options": "en-US,fr-FR",
        "media-encoding": "pcm",
        "sample-rate": "16000",
    }
    pcm = (FIXTURES / "fox.pcm").read_bytes()
    frames = [eventstream.encode(AUDIO_HEADERS, c) for c in chunks(pcm)]
    ok = await exchange(
        ep, "/stream-transcription-websocket", {**base, "vocabulary-names": "medical-words,french-words"}, frames
    )
    assert "TranscriptEvent" in {m["type"] for m in ok}
    refused = await exchange(
        ep, "/stream-transcription-websocket", {**base, "vocabulary-names": "medical-words,example-vocabulary"}, []
    )
    assert (
        refused[0]["type"] == "BadRequestException" and "one vocabulary per language" in refused[0]["body"]["Message"]
    )


async def test_language_identification_is_honest_about_english_only(ep: LocalEndpoint) -> None:
    client = TranscribeStreamingClient(endpoint=ep.http2_url)
    source = open_audio(FIXTURES / "fox.pcm", sample_rate=16000)
    async with client.start_stream_transcription(
        identify_language=True, language_options=["fr-FR", "de-DE"], media_sample_rate_hz=16000, media_encoding="pcm"
    ) as stream:
        sender = asyncio.create_task(stream.send_from(source, speed=8.0))
        results = [
            r async for e in stream if hasattr(e, "transcript") for r in e.transcript.results if not r.is_partial
        ]
        await sender
    scores = {s.language_code: s.score for s in results[0].language_identification}
    assert set(scores) == {"fr-FR", "de-DE"}
    assert max(scores.values()) <= 0.5  # neither is reported with confidence
    assert scores["fr-FR"] == scores["de-DE"]


async def test_numbers_and_fillers_in_the_transcript(ep: LocalEndpoint) -> None:
    client = TranscribeStreamingClient(endpoint=ep.http2_url)
    source = open_audio(FIXTURES / "numbers.pcm", sample_rate=16000)
    async with client.start_stream_transcription(
        language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
    ) as stream:
        sender = asyncio.create_task(stream.send_from(source, speed=8.0))
        results = [r async for e in stream if hasattr(e, "transcript") for r in e.transcript.results]
        await sender
    for result in results:
        for item in result.alternatives[0].items:
            assert not item.content.startswith(("[", "<", "+")), item  # no [SPEECH], <sil>, ++NOISE++


async def test_websocket_refusal_reaches_our_client_as_a_typed_error(ep: LocalEndpoint) -> None:
    client = TranscribeStreamingClient(endpoint=ep.websocket_url, transport="websocket")
    with pytest.raises(BadRequestException, match="vocabulary couldn't be found") as info:
        async with client.start_stream_transcription(
            language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm", vocabulary_name="nope"
        ) as stream:
            await stream.send_audio(bytes(3200))
            await stream.end_audio()
            async for _ in stream:
                pass
    assert info.value.retryable is False


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"identify_language": True, "content_redaction_type": "PII"}, "content_redaction_type"),
        ({"identify_language": True, "language_model_name": "m"}, "language_model_name"),
        ({"identify_language": True, "media_encoding": "ogg-opus"}, "media_encoding"),
        ({"identify_language": True, "vocabulary_name": "v"}, "vocabulary_name"),
        ({"language_code": "en-US", "vocabulary_names": ["v"]}, "vocabulary_names"),
        (
            {"language_code": "en-US", "content_redaction_type": "PII", "pii_entity_types": ["ALL", "SSN"]},
            "pii_entity_types",
        ),
    ],
)
async def test_documented_rules_are_checked_before_connecting(ep: LocalEndpoint, params, name) -> None:
    values: dict[str, Any] = {"media_sample_rate_hz": 16000, "media_encoding": "pcm", **params}
    if values.get("identify_language"):
        values["language_options"] = ["en-US", "fr-FR"]
    client = TranscribeStreamingClient(endpoint=ep.http2_url)
    with pytest.raises(ParameterError) as info:
        async with client.start_stream_transcription(**values):
            pass
    assert info.value.param == name
    # ... and on the wire, by the endpoint, for clients that do not check.
    wire = {"media-encoding": values["media_encoding"], "sample-rate": "16000"}
    for key, value in params.items():
        if key != "media_encoding":
            wire[key.replace("_", "-")] = (
                ",".join(value)
                if isinstance(value, list)
                else str(value).lower()
                if isinstance(value, bool)
                else str(value)
            )
    if "language_options" in values:
        wire["language-options"] = ",".join(values["language_options"])
    messages = await exchange(ep, "/stream-transcription-websocket", wire, [])
    assert messages[0]["type"] == "BadRequestException"
    assert name.replace("_", "-") in messages[0]["body"]["Message"] or name in messages[0]["body"]["Message"]


async def test_the_stream_limit_is_per_protocol() -> None:
    async with LocalEndpoint(tls="none", max_streams=1) as ep:
        h2_client = TranscribeStreamingClient(endpoint=ep.http2_url)
        async with h2_client.start_stream_transcription(
            language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
        ) as first:
            await first.send_audio(bytes(3200))
            # The HTTP/2 slot is taken; a WebSocket stream still opens.
            messages = await exchange(
                ep,
                "/stream-transcription-websocket",
                {"language-code": "en-US", "media-encoding": "pcm", "sample-rate": "16000"},
                [eventstream.encode(AUDIO_HEADERS, bytes(3200))],
            )
            assert not [m for m in messages if m["type"].endswith("Exception")]
            await first.end_audio()
            async for _ in first:
                pass


async def test_medical_channel_identification_splits_the_channels(ep: LocalEndpoint) -> None:
    client = TranscribeStreamingClient(endpoint=ep.http2_url)
    source = open_audio(FIXTURES / "two-channel.pcm", sample_rate=16000, channels=2)
    async with client.start_medical_stream_transcription(
        language_code="en-US",
        media_sample_rate_hz=16000,
        media_encoding="pcm",
        specialty="PRIMARYCARE",
        type="CONVERSATION",
        enable_channel_identification=True,
        number_of_channels=2,
    ) as stream:
        sender = asyncio.create_task(stream.send_from(source, speed=8.0))
        results = [r async for e in stream if hasattr(e, "transcript") for r in e.transcript.results]
        await sender
    finals = {r.channel_id: r.alternatives[0].transcript for r in results if not r.is_partial}
    assert set(finals) == {"ch_0", "ch_1"}
    for i in (0, 1):
        assert word_error_rate((FIXTURES / f"channel{i}.txt").read_text(), finals[f"ch_{i}"]) <= 0.25


async def test_speaker_labels_tell_two_voices_on_one_channel_apart(ep: LocalEndpoint) -> None:
    """A low voice, then a high one (flite's rms and slt), in one mono recording."""
    client = TranscribeStreamingClient(endpoint=ep.http2_url)
    source = open_audio(FIXTURES / "two-voices.flac")
    async with client.start_stream_transcription(
        language_code="en-US",
        media_sample_rate_hz=source.sample_rate,
        media_encoding=source.media_encoding,
        show_speaker_label=True,
    ) as stream:
        sender = asyncio.create_task(stream.send_from(source, speed=8.0))
        results = [r async for e in stream if hasattr(e, "transcript") for r in e.transcript.results]
        await sender
    finals = [r for r in results if not r.is_partial]
    speakers = [{i.speaker for i in r.alternatives[0].items if i.type == "pronunciation"} for r in finals]
    assert speakers == [{"0"}, {"1"}], [(r.transcript, s) for r, s in zip(finals, speakers, strict=True)]
    assert all(i.speaker is None for r in results if r.is_partial for i in r.alternatives[0].items)


@pytest.mark.parametrize(
    "body",
    [
        b'{"ChannelDefinitions": [{"ChannelId": Infinity, "ParticipantRole": "AGENT"}]}',
        b'{"ChannelDefinitions": "AGENT"}',
        b"[1, 2]",
        b'{"ChannelDefinitions": [{"ChannelId": 0, "ParticipantRole": "AGENT"}]}',
        b'{"ChannelDefinitions": [{"ChannelId": 0, "ParticipantRole": "AGENT"}, {"ChannelId": 1, "ParticipantRole": "AGENT"}]}',
        b'{"ChannelDefinitions": [{"ChannelId": 0, "ParticipantRole": "AGENT"}, {"ChannelId": 5, "ParticipantRole": "CUSTOMER"}]}',
        b'{"ChannelDefinitions": [{"ChannelId": 0, "ParticipantRole": "BOSS"}, {"ChannelId": 1, "ParticipantRole": "AGENT"}]}',
        b"not json",
    ],
)
async def test_hostile_configuration_events_get_a_typed_refusal(ep: LocalEndpoint, body: bytes) -> None:
    header = {":message-type": "event", ":event-type": "ConfigurationEvent", ":content-type": "application/json"}
    query = {"language-code": "en-US", "media-encoding": "pcm", "sample-rate": "16000"}
    messages = await exchange(
        ep, CA_PATH, query, [eventstream.encode(header, body), eventstream.encode(AUDIO_HEADERS, bytes(3200))]
    )
    assert [m["type"] for m in messages] == ["BadRequestException"]
    assert (
        "ChannelDefinitions" in messages[0]["body"]["Message"] or "ConfigurationEvent" in messages[0]["body"]["Message"]
    )


async def test_no_built_in_example_acts_on_a_stream_that_did_not_ask() -> None:
    async with LocalEndpoint(tls="none") as plain:
        messages = await call_analytics(plain)
    assert "CategoryEvent" not in {m["type"] for m in messages}  # no example category fires unasked
    assert utterances(messages)
    async with LocalEndpoint(tls="none", resources="example") as examples:
        messages = await call_analytics(examples)
    matched = [n for m in messages if m["type"] == "CategoryEvent" for n in m["body"]["MatchedCategories"]]
    assert matched == ["example-category"]  # asked for: "how can I help you"


@pytest.mark.parametrize(
    ("said", "issues"),
    [  # none of these is in a fixture: the cues are general, not our calls' phrases
        ("the app keeps crashing when I open it", ["the app keeps crashing when I open it"]),
        ("my package was delayed again", ["my package was delayed again"]),
        ("I called twice and nobody has answered", ["nobody has answered"]),
        ("the router will not turn on, so I need help", ["the router will not turn on"]),
        ("thanks, everything works fine now", []),
        ("I would like to upgrade my plan", []),
    ],
)
def test_issues_are_found_in_speech_we_did_not_tune_to(said: str, issues: list[str]) -> None:
    from streaming.local.analytics import find_issues

    assert [said[begin:end] for begin, end in find_issues(said)] == issues


async def test_call_analytics_on_a_call_the_analytics_were_not_written_for(ep: LocalEndpoint) -> None:
    client = TranscribeStreamingClient(endpoint=ep.http2_url)
    source = open_audio(FIXTURES / "call2.flac")
    roles = [{"ChannelId": 0, "ParticipantRole": "AGENT"}, {"ChannelId": 1, "ParticipantRole": "CUSTOMER"}]
    async with client.start_call_analytics_stream_transcription(
        language_code="en-US",
        media_sample_rate_hz=source.sample_rate,
        media_encoding="flac",
        channel_definitions=roles,
    ) as stream:
        sender = asyncio.create_task(stream.send_from(source, realtime=False))
        finals = [e async for e in stream if getattr(e, "is_partial", True) is False]
        await sender
    by_role = {e.participant_role: e for e in finals}
    customer, agent = by_role["CUSTOMER"], by_role["AGENT"]
    assert word_error_rate((FIXTURES / "call2-customer.txt").read_text(), customer.transcript) <= 0.2
    assert word_error_rate((FIXTURES / "call2-agent.txt").read_text(), agent.transcript) <= 0.25  # "you're"
    said = [customer.transcript[i.character_offsets.begin : i.character_offsets.end] for i in customer.issues_detected]
    assert any("keeps dropping" in s for s in said) and any("nobody has fixed" in s for s in said), said
    assert not agent.issues_detected
