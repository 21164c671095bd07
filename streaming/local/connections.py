"""How many TCP connections the endpoint holds open, in all and per client address.

Open sockets are not free: each is a file descriptor, and a process has a fixed number
(often 1024). Without a bound, a peer that opens connections and never sends a request
exhausts them and locks every client out of both ports; with one, the connection over
the limit is closed at once (its descriptor given back) and the rest keep working. One
client address may hold only part of the total, so one peer cannot take it all.

This module only keeps the counts and decides; the servers' adapters accept, ask, and
close. The deadlines (accept to first request, between requests) live in the adapters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["LISTEN_BACKLOG", "ConnectionGuard", "client_address", "default_connection_limits"]

LISTEN_BACKLOG = 64
"""Each listening socket's backlog. asyncio accepts up to this many connections in one go
before any of them is looked at, so each port may briefly hold that many more."""
_RESERVED_DESCRIPTORS = 64 + 2 * LISTEN_BACKLOG  # the process's own files, and two accept bursts


def client_address(peername: object) -> str:
    """The client's address from a socket's peer name (``?`` when the socket has none)."""
    return str(peername[0]) if isinstance(peername, tuple) and peername else "?"


def default_connection_limits(max_streams: int, open_files: int) -> tuple[int, int]:
    """Total and per-client connection limits for an endpoint with ``max_streams`` slots
    in a process that may open ``open_files`` descriptors (RLIMIT_NOFILE's soft limit)."""
    ceiling = max(open_files - _RESERVED_DESCRIPTORS, 16)
    total = min(max(4 * max_streams, 256), ceiling)
    per_client = min(max(max_streams + 8, total // 4), total)
    return total, per_client


@dataclass(slots=True)
class ConnectionGuard:
    """Admits a new connection while both limits allow it; see the module docstring."""

    max_total: int
    max_per_client: int
    open: int = 0
    refused: int = 0  # connections closed at once for a limit, since the start
    _by_client: dict[str, int] = field(default_factory=dict)

    def admit(self, client: str) -> str | None:
        """Count a new connection from ``client`` (its address); None when admitted, else
        why it is refused (and it is not counted)."""
        held = self._by_client.get(client, 0)
        if self.open >= self.max_total:
            reason = f"the endpoint holds {self.open} connections (its limit)"
        elif held >= self.max_per_client:
            reason = f"{client} holds {held} connections (the limit per client address)"
        else:
            self.open += 1
            self._by_client[client] = held + 1
            return None
        self.refused += 1
        return reason

    def release(self, client: str) -> None:
        """An admitted connection from ``client`` closed."""
        held = self._by_client.get(client, 0)
        if held <= 0:
            return
        self.open -= 1
        if held == 1:
            del self._by_client[client]  # the map holds only addresses with open connections
        else:
            self._by_client[client] = held - 1

    def held_by(self, client: str) -> int:
        return self._by_client.get(client, 0)

    def should_log_refusal(self) -> bool:
        """Log the 1st, 2nd, 4th, 8th... refusal: a flood leaves a few lines, not thousands."""
        return self.refused & (self.refused - 1) == 0
