"""A blocking facade for scripts and synchronous apps.

The asyncio client runs on its own event loop in a worker thread; events cross to the
caller through a thread-safe queue (a blocking ``get``, no polling), so this works from
plain scripts and from code that already runs an event loop of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from ..proto.core import StreamEvent
from ..proto.models import MedicalResult, MedicalTranscriptEvent, Result, TranscriptEvent
from .audio import open_audio
from .client import TranscribeStreamingClient

__all__ = ["iter_transcribe_file", "transcribe_file"]

_DONE: Final = object()


def iter_transcribe_file(
    path: str | Path,
    *,
    client: TranscribeStreamingClient | None = None,
    language_code: str | None = "en-US",
    sample_rate: int | None = None,
    realtime: bool = False,
    speed: float = 1.0,
    **params: object,
) -> Iterator[StreamEvent]:
    """Stream a file and yield every event as it arrives (partials, finals, reconnects).

    The file's encoding and rate come from its header (raw PCM needs ``sample_rate``);
    ``params`` are StartStreamTranscription's keyword arguments. Breaking out of the loop
    stops the stream.
    """
    client = client or TranscribeStreamingClient()
    source = open_audio(path, sample_rate=sample_rate)
    events: queue.Queue[StreamEvent | BaseException | object] = queue.Queue(maxsize=256)
    stop = threading.Event()

    async def run() -> None:
        if (
            language_code is not None
            and not params.get("identify_language")
            and not params.get("identify_multiple_languages")
        ):
            params.setdefault("language_code", language_code)
        stream = client.start_stream_transcription(
            media_sample_rate_hz=source.sample_rate,
            media_encoding=source.media_encoding,
            **params,  # type: ignore[arg-type]  # checked by StreamParams.build, by name and value
        )
        async with stream:
            sender = asyncio.get_running_loop().create_task(stream.send_from(source, realtime=realtime, speed=speed))
            try:
                async for event in stream:
                    if stop.is_set():
                        break
                    await asyncio.to_thread(events.put, event)
                if not stop.is_set():
                    await sender
            finally:
                sender.cancel()

    def worker() -> None:
        try:
            asyncio.run(run())
        except BaseException as exc:  # handed to the caller's thread
            events.put(exc)
        events.put(_DONE)

    thread = threading.Thread(target=worker, name="streamscribe-sync", daemon=True)
    thread.start()
    try:
        while (item := events.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]  # everything else put on the queue is a StreamEvent
    finally:
        stop.set()
        while thread.is_alive():  # unblock a worker waiting on a full queue
            with contextlib.suppress(queue.Empty):
                events.get(timeout=0.1)
        thread.join()


def transcribe_file(path: str | Path, **kwargs: Any) -> list[Result | MedicalResult]:
    """Stream a file and return its final results, in order (see :func:`iter_transcribe_file`)."""
    finals: list[Result | MedicalResult] = []
    for event in iter_transcribe_file(path, **kwargs):
        if isinstance(event, TranscriptEvent | MedicalTranscriptEvent):
            results: tuple[Result | MedicalResult, ...] = event.transcript.results
            finals += [r for r in results if not r.is_partial]
    return finals
