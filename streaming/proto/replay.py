"""The replay buffer, pure: the audio a resumed connection must send again, and nothing more.

Every chunk sent is recorded with its place on the stream's media timeline. A final result
covering audio up to time T means no resumption needs audio before T; the window
(``replay_seconds``, ``replay_bytes``) bounds what is kept however long results take.
Finals arrive in order, so trimming and the latency look-up only walk what they drop.
"""

from __future__ import annotations

import datetime as _dt
from collections import deque
from dataclasses import dataclass
from typing import Final

__all__ = ["ReplayBuffer", "SentChunk"]

_EPSILON: Final = 1e-6


@dataclass(slots=True)
class SentChunk:
    start: float  # media seconds on the stream's timeline
    end: float
    data: bytes
    sent_at: _dt.datetime


class ReplayBuffer:
    """Chunks sent and not yet covered by a final result, within ``seconds`` and ``max_bytes``."""

    def __init__(self, seconds: float, max_bytes: int) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.media = 0.0  # media seconds sent so far
        self.covered = 0.0  # media seconds covered by final results
        self.buffered_bytes = 0
        self._chunks: deque[SentChunk] = deque()

    def __len__(self) -> int:
        return len(self._chunks)

    def record(self, data: bytes, seconds: float, now: _dt.datetime) -> None:
        self._chunks.append(SentChunk(self.media, self.media + seconds, data, now))
        self.buffered_bytes += len(data)
        self.media += seconds
        self._trim()

    def pending(self) -> list[SentChunk]:
        """What a resumption sends again, oldest first."""
        return list(self._chunks)

    @property
    def window(self) -> tuple[float, float]:
        """Media seconds (start, end) of the audio a resumption would send again now."""
        return (self._chunks[0].start if self._chunks else self.media), self.media

    def final_arrived(self, end_time: float, now: _dt.datetime) -> float | None:
        """A final result covers audio up to ``end_time``: trim, and return its latency
        (seconds since the chunk holding its end was sent), or None if that chunk is gone.

        A time beyond the audio sent (a confused or hostile peer) counts as the end of what
        was sent: it must not make a resumption skip audio or drop later results.
        """
        end_time = min(end_time, self.media)
        self.covered = max(self.covered, end_time)
        latency = None
        for chunk in self._chunks:  # the chunks passed over are covered: _trim drops them next
            if chunk.end >= end_time - _EPSILON:
                latency = max((now - chunk.sent_at).total_seconds(), 0.0)
                break
        self._trim()
        return latency

    def clear(self) -> None:
        self._chunks.clear()
        self.buffered_bytes = 0

    def _trim(self) -> None:
        chunks = self._chunks
        while chunks and (
            chunks[0].start < self.covered - _EPSILON
            or self.media - chunks[0].start > self.seconds + _EPSILON
            or self.buffered_bytes > self.max_bytes
        ):
            self.buffered_bytes -= len(chunks.popleft().data)
