"""Pacing and keep-alive, pure: when the next chunk of a source may go out, and when silence fills in.

Audio is sent by its media time: the chunk that starts ``m`` seconds into the source goes
out ``m / speed`` seconds after sending began (``speed=None``: as fast as the peer
reads). A source that stalls for ``keepalive`` seconds gets silence in its own encoding
(the service ends a stream after 15 s without audio); silence does not make the source
late, so the media clock restarts from it. The shell asks and waits; times are its
loop's seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Pacer"]


@dataclass(slots=True)
class Pacer:
    """The pacing of one source, from ``start`` (the loop time sending began)."""

    start: float
    speed: float | None = 1.0
    keepalive: float | None = None
    media: float = 0.0  # media seconds sent so far

    @property
    def source_timeout(self) -> float | None:
        """How long to wait for the source's next chunk before sending silence (None: forever)."""
        return self.keepalive

    def delay(self, now: float) -> float:
        """Seconds to wait, from ``now``, before the next chunk may go out."""
        if self.speed is None:
            return 0.0
        return max(self.start + self.media / self.speed - now, 0.0)

    def sent(self, duration: float, now: float, *, filler: bool = False) -> None:
        """A chunk of ``duration`` media seconds went out at ``now`` (``filler``: keep-alive silence)."""
        self.media += duration
        if filler and self.speed is not None:
            self.start = now - self.media / self.speed  # silence does not make the source late
