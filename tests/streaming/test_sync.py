"""The blocking facade, from plain synchronous code (the endpoint runs in its own thread)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

import streaming
from streaming import TranscribeStreamingClient, iter_transcribe_file, transcribe_file
from streaming.local import LocalEndpoint
from tests.helpers import FIXTURES, FOX_TEXT, word_error_rate


@pytest.fixture
def endpoint_url() -> Iterator[str]:
    ready = threading.Event()
    stop: dict[str, asyncio.AbstractEventLoop | asyncio.Event] = {}
    url: list[str] = []

    async def serve() -> None:
        async with LocalEndpoint(tls="none") as ep:
            url.append(ep.http2_url)
            stop["loop"], stop["event"] = asyncio.get_running_loop(), asyncio.Event()
            ready.set()
            await stop["event"].wait()  # type: ignore[union-attr]

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    ready.wait(10)
    yield url[0]
    stop["loop"].call_soon_threadsafe(stop["event"].set)  # type: ignore[union-attr]
    thread.join(10)


def test_transcribe_file(endpoint_url: str) -> None:
    results = transcribe_file(FIXTURES / "fox.flac", client=TranscribeStreamingClient(endpoint=endpoint_url))
    assert len(results) == 1
    assert isinstance(results[0], streaming.Result)
    assert word_error_rate(FOX_TEXT, results[0].transcript) <= 0.15


def test_iterator_yields_partials_then_the_final(endpoint_url: str) -> None:
    events = list(iter_transcribe_file(FIXTURES / "fox.wav", client=TranscribeStreamingClient(endpoint=endpoint_url)))
    flags = [r.is_partial for e in events for r in e.transcript.results]
    assert flags[-1] is False
    assert flags.count(True) >= 2


def test_breaking_out_stops_the_stream(endpoint_url: str) -> None:
    for _event in iter_transcribe_file(
        FIXTURES / "fox.wav", client=TranscribeStreamingClient(endpoint=endpoint_url), realtime=True
    ):
        break  # the generator's cleanup stops the worker thread; nothing hangs


def test_errors_cross_to_the_caller(endpoint_url: str) -> None:
    with pytest.raises(streaming.ParameterError, match="vocabulary_name"):
        transcribe_file(
            FIXTURES / "fox.wav", client=TranscribeStreamingClient(endpoint=endpoint_url), vocabulary_name="bad name!"
        )
    with pytest.raises(streaming.AudioFormatError, match="sample rate"):
        transcribe_file(FIXTURES / "fox.pcm", client=TranscribeStreamingClient(endpoint=endpoint_url))
