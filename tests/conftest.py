"""Fixtures: real local endpoints on 127.0.0.1 (TLS with a minted CA, and h2c)."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from streaming.local import LocalEndpoint

# No property test may depend on how fast or busy the machine is: Hypothesis's per-example
# deadline and its "too slow" health check are wall-clock judgements, so both are off.
settings.register_profile(
    "streamscribe", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.load_profile("streamscribe")


@pytest.fixture(autouse=True)
def _collect_garbage_between_tests() -> Iterator[None]:
    """Collect cycles (finished streams, their tasks and tracebacks) after every test.

    CPython 3.11 can fail ``ast.parse`` with "SystemError: AST constructor recursion
    depth mismatch" when a garbage collection runs finalizers in the middle of it
    (CPython issue gh-106905); pytest parses lazily imported modules for assertion
    rewriting at the end of a session. Collecting here keeps that collection out of it.
    What was alive once the tests were collected (modules, test items) is frozen out
    of the collector, so each collection walks only what the tests made since.
    """
    yield
    gc.collect()


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def isolated_credentials(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test sees the machine's AWS credentials or reaches an instance-metadata address.

    Streams to a local endpoint then fall back to its development key pair, as on a
    machine without AWS configuration; tests that want credentials set them here.
    """
    home = tmp_path_factory.mktemp("aws-home")
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "config"))
    return home


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
