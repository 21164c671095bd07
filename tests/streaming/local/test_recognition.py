"""Recognition through the endpoint: every encoding and rate, two channels, stabilization."""

from __future__ import annotations

from typing import Any

import pytest

from streaming import TranscribeStreamingClient, open_audio
from streaming.aio.audio import PcmSource
from streaming.local import LocalEndpoint
from tests.helpers import FIXTURES, FOX_TEXT, word_error_rate

CHANNEL_TEXT = [(FIXTURES / f"channel{i}.txt").read_text().strip() for i in (0, 1)]


async def run(ep: LocalEndpoint, source: Any, **params: Any) -> list[Any]:
    client = TranscribeStreamingClient(endpoint=ep.http2_url, ca_file=ep.ca_file)
    params.setdefault("language_code", "en-US")
    events = []
    async with client.start_stream_transcription(
        media_sample_rate_hz=source.sample_rate, media_encoding=source.media_encoding, **params
    ) as stream:
        sender = __import__("asyncio").create_task(stream.send_from(source, speed=8.0))
        events = [event async for event in stream]
        await sender
    return [r for e in events for r in e.transcript.results]


def final_text(results: list[Any], channel: str | None = None) -> str:
    return " ".join(r.transcript for r in results if not r.is_partial and (channel is None or r.channel_id == channel))


@pytest.mark.parametrize(
    ("name", "rate", "max_wer"),
    [
        ("fox.pcm", 16000, 0.12),
        ("fox-8k.pcm", 8000, 0.5),  # telephone band: the 16 kHz acoustic model loses its top half
        ("fox-44k.pcm", 44100, 0.12),
        ("fox.wav", None, 0.12),
        ("fox.flac", None, 0.12),
        ("fox.opus", None, 0.12),
    ],
)
async def test_every_encoding_and_rate(endpoint: LocalEndpoint, name: str, rate: int | None, max_wer: float) -> None:
    source = open_audio(FIXTURES / name, sample_rate=rate)
    results = await run(endpoint, source)
    assert word_error_rate(FOX_TEXT, final_text(results)) <= max_wer


@pytest.mark.parametrize("name", ["two-channel.pcm", "two-channel.flac"])
async def test_two_channels_are_transcribed_apart(endpoint: LocalEndpoint, name: str) -> None:
    source = open_audio(FIXTURES / name, sample_rate=16000, channels=2)
    results = await run(endpoint, source, enable_channel_identification=True, number_of_channels=2)
    assert {r.channel_id for r in results} == {"ch_0", "ch_1"}
    for i, text in enumerate(CHANNEL_TEXT):
        assert word_error_rate(text, final_text(results, f"ch_{i}")) <= 0.25


@pytest.mark.parametrize("stability", ["low", "medium", "high"])
async def test_stable_words_never_change(endpoint: LocalEndpoint, stability: str) -> None:
    source = PcmSource(FIXTURES / "fox.pcm", sample_rate=16000)
    results = await run(
        endpoint, source, enable_partial_results_stabilization=True, partial_results_stability=stability
    )
    stable: list[str] = []
    for result in results:
        items = [i for i in result.alternatives[0].items if i.type == "pronunciation"]
        assert all(i.stable is not None for i in items)
        # Once stable, a word keeps its place and text, in later partials and in the final.
        assert [i.content.lower() for i in items[: len(stable)]] == stable
        flags = [i.stable for i in items]
        assert flags == sorted(flags, reverse=True)  # a stable prefix, then unstable words
        stable = [i.content.lower() for i in items if i.stable]
    assert all(i.stable for i in results[-1].alternatives[0].items)


async def test_higher_stability_fixes_words_sooner(endpoint: LocalEndpoint) -> None:
    # How many partials the endpoint sends depends on how it batches audio (how busy the
    # machine is), so this compares shares of items, and checks each partial's rule.
    shares = {}
    for stability in ("low", "high"):
        results = await run(
            endpoint,
            PcmSource(FIXTURES / "fox.pcm", sample_rate=16000),
            enable_partial_results_stabilization=True,
            partial_results_stability=stability,
        )
        items = [(r, i) for r in results if r.is_partial for i in r.alternatives[0].items]
        assert items
        said: dict[str, list[list[str]]] = {}  # each result's partials so far, as words
        for result in (r for r in results if r.is_partial):
            words = [i.content.lower() for i in result.alternatives[0].items if i.type == "pronunciation"]
            before = said.setdefault(result.result_id, [])
            for index, item in enumerate(i for i in result.alternatives[0].items if i.type == "pronunciation"):
                # A stable word was said the same way in the two partials before this one.
                assert not item.stable or (
                    len(before) >= 2 and all(index < len(w) and w[index] == words[index] for w in before[-2:])
                ), (stability, result.result_id, index)
            before.append(words)
        shares[stability] = sum(i.stable for _, i in items) / len(items)
    assert shares["high"] > shares["low"]


async def test_speaker_labels_and_language_identification(endpoint: LocalEndpoint) -> None:
    source = PcmSource(FIXTURES / "fox.pcm", sample_rate=16000)
    results = await run(endpoint, source, show_speaker_label=True)
    # Speaker labels come with complete segments only, as the service sends them.
    for result in results:
        speakers = {i.speaker for i in result.alternatives[0].items if i.type == "pronunciation"}
        assert speakers == ({None} if result.is_partial else {"0"})
    results = await run(
        endpoint,
        PcmSource(FIXTURES / "fox.pcm", sample_rate=16000),
        language_code=None,
        identify_language=True,
        language_options=["de-DE", "en-GB"],
    )
    final = next(r for r in results if not r.is_partial)
    assert final.language_code == "en-GB"
    scores = {s.language_code: s.score for s in final.language_identification}
    assert set(scores) == {"de-DE", "en-GB"}
    assert scores["en-GB"] > 0.5 > scores["de-DE"]


# -- the same words for the same audio ------------------------------------------------------------


def decode(name: str) -> bytes:
    from streaming.local.decoding import AudioPipeline

    path = FIXTURES / name if (FIXTURES / name).exists() else FIXTURES.parent.parent / "streaming" / "data" / name
    if name.endswith(".pcm"):
        return path.read_bytes()
    pipeline = AudioPipeline("flac", 16000)
    decoded = pipeline.feed(path.read_bytes())
    return decoded.channels[0] + pipeline.flush().channels[0]


def recognise(pool: Any, pcm: bytes, chunk: int) -> list[tuple[Any, ...]]:
    from streaming.local.recognizer import ChannelRecognizer

    recognizer = ChannelRecognizer(pool=pool)
    segments = []
    for i in range(0, len(pcm), chunk):
        segments += recognizer.feed(pcm[i : i + chunk])
    segments += recognizer.finish()
    recognizer.close()
    return [(w.text, w.start, w.end, w.confidence) for s in segments if not s.is_partial for w in s.words]


def test_a_reused_decoder_gives_the_same_words_times_and_confidences() -> None:
    from streaming.local.recognizer import DecoderPool

    pool = DecoderPool(max_idle=1)
    target = decode("two-voices.flac")
    first = recognise(pool, target, 3200)
    for other in ("fox.pcm", "numbers.pcm", "vocabulary.pcm", "demo.flac"):
        recognise(pool, decode(other), 3200)
    assert pool.loaded == 1  # one decoder did all of it
    assert recognise(pool, target, 3200) == first
    assert recognise(pool, target, 32000) == first  # in other pieces too
    assert recognise(DecoderPool(), target, 640) == first  # and as a fresh decoder hears it
    assert first


def finals_exactly(results: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (
            r.transcript,
            r.start_time,
            r.end_time,
            tuple((i.content, i.start_time, i.end_time, i.confidence) for i in r.alternatives[0].items),
        )
        for r in results
        if not r.is_partial
    ]


async def test_the_same_audio_gives_the_same_results_over_either_transport_at_any_speed(
    plain_endpoint: LocalEndpoint,
) -> None:
    import asyncio

    async def once(transport: str, **pacing: Any) -> list[tuple[Any, ...]]:
        url = plain_endpoint.http2_url if transport == "http2" else plain_endpoint.websocket_url
        client = TranscribeStreamingClient(endpoint=url, transport=transport)  # type: ignore[arg-type]
        source = open_audio(FIXTURES / "two-voices.flac")
        async with client.start_stream_transcription(
            language_code="en-US", media_sample_rate_hz=source.sample_rate, media_encoding="flac"
        ) as stream:
            sender = asyncio.create_task(stream.send_from(source, **pacing))
            results = [r for e in [e async for e in stream] for r in e.transcript.results]
            await sender
        return finals_exactly(results)

    reference = await once("http2", speed=8.0)
    assert reference and "thank you" in " ".join(t for t, *_ in reference).lower()
    assert await once("websocket", realtime=False) == reference
    assert await once("http2", realtime=False) == reference
    assert await once("websocket", speed=4.0) == reference


def test_idle_decoders_are_bounded_and_the_least_recent_vocabulary_goes_first() -> None:
    from streaming.local.recognizer import DecoderPool
    from streaming.local.resources import VocabularyPhrase

    pool = DecoderPool(max_idle=1, max_idle_vocabulary=2)
    vocabularies = [(VocabularyPhrase((f"word{i}",)),) for i in range(4)]
    for phrases in vocabularies:  # each distinct vocabulary loads a decoder (~100 MiB)...
        pool.release(pool.acquire(phrases), phrases)
    assert pool.loaded == 4
    assert pool.idle_vocabulary() == 2  # ...but only two are kept once their streams end
    pool.release(pool.acquire(vocabularies[3]), vocabularies[3])
    assert pool.loaded == 4  # the most recent one was kept
    pool.release(pool.acquire(vocabularies[0]), vocabularies[0])
    assert pool.loaded == 5  # the oldest was not
    plain = [pool.acquire() for _ in range(3)]
    for decoder in plain:
        pool.release(decoder)
    assert pool.idle() == 1 + 2


async def test_streams_naming_many_vocabularies_do_not_keep_a_decoder_each() -> None:
    from streaming.local.recognizer import _POOL

    resources = {
        "Vocabularies": [
            {"VocabularyName": f"v{i}", "LanguageCode": "en-US", "Phrases": [f"fox-{'abcde'[i]}"]} for i in range(5)
        ]
    }
    async with LocalEndpoint(tls="none", resources=resources) as ep:
        for i in range(5):
            results = await run(ep, PcmSource(FIXTURES / "fox.pcm", sample_rate=16000), vocabulary_name=f"v{i}")
            assert word_error_rate(FOX_TEXT, final_text(results)) <= 0.3
    assert _POOL.idle_vocabulary() <= _POOL.max_idle_vocabulary


@pytest.mark.parametrize("stabilization", [False, True])
async def test_partials_are_written_like_finals(endpoint: LocalEndpoint, stabilization: bool) -> None:
    """As the service's are ("Welcome to Amazon."): capitalised and closed by a period."""
    extra = {"enable_partial_results_stabilization": True} if stabilization else {}
    results = await run(endpoint, PcmSource(FIXTURES / "fox.pcm", sample_rate=16000), **extra)
    partials = [r for r in results if r.is_partial and r.transcript]
    assert partials
    for result in partials:
        assert result.transcript[0].isupper() and result.transcript.endswith(".")
        last = result.alternatives[0].items[-1]
        assert last.type == "punctuation" and last.content == "."
        if stabilization:
            assert last.stable is False  # the period moves with the words still to come
