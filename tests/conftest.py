"""Fixtures: real local endpoints on 127.0.0.1 (TLS with a minted CA, and h2c)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator

import pytest

from streaming.local import LocalEndpoint


@pytest.fixture
async def endpoint() -> AsyncIterator[LocalEndpoint]:
    """A TLS endpoint (self-signed CA) with both HTTP/2 and WebSocket listeners."""
    async with LocalEndpoint(tls="self-signed") as ep:
        yield ep


@pytest.fixture
async def plain_endpoint() -> AsyncIterator[LocalEndpoint]:
    """An endpoint without TLS: h2c (prior knowledge) and ws://."""
    async with LocalEndpoint(tls="none") as ep:
        yield ep


@pytest.fixture(params=["tls", "plain"])
async def any_endpoint(request: pytest.FixtureRequest) -> AsyncIterator[LocalEndpoint]:
    async with LocalEndpoint(tls="self-signed" if request.param == "tls" else "none") as ep:
        yield ep


@pytest.fixture
def threaded_endpoint() -> Iterator[LocalEndpoint]:
    """An h2c/ws endpoint on its own event loop in a thread, for synchronous callers."""
    ready = threading.Event()
    holder: dict[str, object] = {}

    async def serve() -> None:
        async with LocalEndpoint(tls="none") as ep:
            holder.update(ep=ep, loop=asyncio.get_running_loop(), stop=asyncio.Event())
            ready.set()
            await holder["stop"].wait()  # type: ignore[attr-defined]

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(15), "the endpoint did not start"
    yield holder["ep"]  # type: ignore[misc]
    holder["loop"].call_soon_threadsafe(holder["stop"].set)  # type: ignore[attr-defined]
    thread.join(15)
