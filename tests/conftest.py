"""Fixtures: real local endpoints on 127.0.0.1 (TLS with a minted CA, and h2c)."""

from __future__ import annotations

from collections.abc import AsyncIterator

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
