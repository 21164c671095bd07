"""How a stream on the local endpoint ends, decided in one place. Pure.

A stream is open until exactly one ending is decided; the first ending decided is the one
recorded and logged, whoever reports it (the recogniser's worker, either transport, the
endpoint's shutdown or its release of the slot). Each adapter only reports what it saw.

=========================  ===========================================================
ending                     reported by
=========================  ===========================================================
``completed``              the worker, after the last result of a stream whose audio ended
``<ExceptionName>``        the worker, or a transport refusing what the client sent
``reset by client``        HTTP/2 RST_STREAM from the client
``reset by a scripted      the worker, when a ``ResetAt`` fault acts
fault (<how>)``
``connection lost``        a transport whose socket failed under it
``ended by server          the endpoint, closing with the stream still open
shutdown``
``client went away``       the endpoint releasing a slot no one else ended
=========================  ===========================================================
"""

from __future__ import annotations

from typing import Final

__all__ = ["OPEN", "StreamLifecycle"]

OPEN: Final = "open"


class StreamLifecycle:
    """``outcome`` is ``"open"`` until the first ending; later reports change nothing."""

    __slots__ = ("outcome",)

    def __init__(self) -> None:
        self.outcome = OPEN

    @property
    def is_open(self) -> bool:
        return self.outcome == OPEN

    def _end(self, outcome: str) -> bool:
        """Record ``outcome`` if the stream is still open; True when it was recorded."""
        if not self.is_open:
            return False
        self.outcome = outcome
        return True

    def completed(self) -> bool:
        return self._end("completed")

    def failed(self, code: str) -> bool:
        """The service's exception ``code`` ended it (sent to the client, or due to it)."""
        return self._end(code)

    def reset_by_client(self) -> bool:
        return self._end("reset by client")

    def scripted_reset(self, how: str) -> bool:
        return self._end(f"reset by a scripted fault ({how})")

    def connection_lost(self) -> bool:
        return self._end("connection lost")

    def shut_down(self) -> bool:
        return self._end("ended by server shutdown")

    def released(self) -> bool:
        """The endpoint gives the slot back: a stream nobody ended, the client left."""
        return self._end("client went away")
