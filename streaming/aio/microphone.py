"""Live PCM from a microphone (the ``mic`` extra: sounddevice, and the PortAudio library)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from ..proto.chunking import AudioChunk, PcmChunker
from ..proto.errors import AudioSourceError

__all__ = ["MicrophoneSource"]


class MicrophoneSource:
    """Live PCM from the default input device, via sounddevice (the ``mic`` extra).

    Chunks arrive in real time, so the stream needs no pacing; iteration runs until
    :meth:`stop` is called.
    """

    media_encoding = "pcm"

    def __init__(
        self,
        *,
        sample_rate: int = 16000,
        channels: int = 1,
        chunk_ms: int = 100,
        device: int | str | None = None,
    ) -> None:
        try:
            import sounddevice  # noqa: PLC0415 - optional extra
        except ImportError as exc:
            raise AudioSourceError("the microphone needs sounddevice: pip install 'streamscribe[mic]'") from exc
        except OSError as exc:  # sounddevice is there; the PortAudio library it loads is not
            raise AudioSourceError(
                f"the microphone needs the PortAudio library ({exc}): on Debian or Ubuntu, "
                "sudo apt-get install libportaudio2"
            ) from exc
        try:  # before any stream opens: a machine without a microphone is told so at once
            sounddevice.query_devices(device, kind="input")
        except Exception as exc:  # PortAudioError, or ValueError for a device it does not know
            which = "the default input device" if device is None else f"input device {device!r}"
            raise AudioSourceError(
                f"no microphone: {which} is not available ({exc}); list them with: python -m sounddevice"
            ) from exc
        self._sd = sounddevice
        self.duration: float | None = None
        self.sample_rate = sample_rate
        self.channels = channels
        self._chunker = PcmChunker(sample_rate, channels, chunk_ms)
        self._device = device
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._stream: Any = None

    @property
    def header(self) -> bytes:
        return b""

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.stop()
        self._queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[AudioChunk]:
        loop = asyncio.get_running_loop()

        def callback(data: Any, frames: int, time: Any, status: Any) -> None:
            loop.call_soon_threadsafe(self._queue.put_nowait, bytes(data))

        self._stream = self._sd.RawInputStream(
            samplerate=self.sample_rate,
            channels=self.channels,
            dtype="int16",
            blocksize=self._chunker.chunk_bytes // self._chunker.frame_bytes,
            device=self._device,
            callback=callback,
        )
        with self._stream:
            while (data := await self._queue.get()) is not None:
                for chunk in self._chunker.feed(data):
                    yield chunk
