"""The blocking facade, from plain synchronous code (the endpoint runs in its own thread)."""

from __future__ import annotations

import pytest

import streaming
from streaming import TranscribeStreamingClient, iter_transcribe_file, transcribe_file
from streaming.local import LocalEndpoint
from tests.helpers import FIXTURES, FOX_TEXT, word_error_rate


@pytest.fixture
def endpoint_url(threaded_endpoint: LocalEndpoint) -> str:
    return threaded_endpoint.http2_url


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
