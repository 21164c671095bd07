"""Attacks on the endpoint's connections, over real sockets: idle floods, slowloris, and a
process whose descriptors run out. Every connection has a bound and a deadline.

Attackers connect from 127.0.0.2 (still loopback, still this machine's servers on
127.0.0.1) so that the per-address limit they hit is theirs, not the legitimate client's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys

import pytest

from streaming import PcmSource, TranscribeStreamingClient
from streaming.local import LocalEndpoint
from streaming.local.connections import ConnectionGuard, default_connection_limits
from tests.helpers import FIXTURES, FOX_TEXT, word_error_rate

ATTACKER = "127.0.0.2"


async def open_idle(port: int, count: int, source: str = ATTACKER) -> list[socket.socket]:
    """``count`` TCP connections that never send a byte."""
    loop = asyncio.get_running_loop()
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        sock.bind((source, 0))
        await loop.sock_connect(sock, ("127.0.0.1", port))
        sockets.append(sock)
    return sockets


async def closed_by_peer(sock: socket.socket, deadline: float) -> bool:
    """True once the server has closed ``sock`` (EOF or reset), within ``deadline`` s."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(deadline):
            while True:
                data = await loop.sock_recv(sock, 4096)
                if not data:
                    return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


async def transcribe(url: str) -> str:
    client = TranscribeStreamingClient(endpoint=url, transport="websocket" if url.startswith("ws") else "http2")
    async with client.start_stream_transcription(
        language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
    ) as stream:
        sender = asyncio.create_task(
            stream.send_from(PcmSource(FIXTURES / "fox.pcm", sample_rate=16000), realtime=False)
        )
        texts = [
            r.alternatives[0].transcript
            for e in [e async for e in stream]
            for r in getattr(getattr(e, "transcript", None), "results", ())
            if not r.is_partial
        ]
        await sender
    return " ".join(texts)


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_the_guard_counts_per_address_and_in_all() -> None:
    guard = ConnectionGuard(max_total=3, max_per_client=2)
    assert guard.admit("a") is None and guard.admit("a") is None
    assert "limit per client address" in (guard.admit("a") or "")
    assert guard.admit("b") is None
    assert "its limit" in (guard.admit("c") or "")
    guard.release("a")
    assert guard.admit("c") is None
    guard.release("zzz")  # never admitted: nothing changes
    assert guard.open == 3 and guard.refused == 2
    assert default_connection_limits(25, 1024) == (256, 64)
    assert default_connection_limits(2000, 1024) == (832, 832)  # never past the descriptors
    assert default_connection_limits(25, 256) == (64, 33)
    assert default_connection_limits(25, 100) == (16, 16)


async def test_an_idle_flood_on_both_ports_is_bounded_and_the_endpoint_keeps_serving() -> None:
    async with LocalEndpoint(tls="none", max_connections=200, max_connections_per_client=20) as ep:
        ws_port, h2_port = port_of(ep.websocket_url), port_of(ep.http2_url)
        flood = await open_idle(ws_port, 40) + await open_idle(h2_port, 10)
        try:
            # The first 20 are held; every later one is closed at once, on either port.
            over = [await closed_by_peer(s, 10) for s in flood[20:]]
            assert all(over)
            assert ep.guard.held_by(ATTACKER) == 20
            # Another client is served on both ports meanwhile.
            assert word_error_rate(FOX_TEXT, await transcribe(ep.http2_url)) <= 0.2
            assert word_error_rate(FOX_TEXT, await transcribe(ep.websocket_url)) <= 0.2
        finally:
            for sock in flood:
                sock.close()


@pytest.mark.parametrize("port_name", ["websocket", "http2"])
async def test_a_connection_that_never_completes_a_request_is_closed(port_name: str) -> None:
    async with LocalEndpoint(tls="none", idle_timeout=1.0) as ep:
        port = port_of(ep.websocket_url if port_name == "websocket" else ep.http2_url)
        (silent,) = await open_idle(port, 1)
        (slow,) = await open_idle(port, 1)
        loop = asyncio.get_running_loop()

        async def trickle() -> None:  # slowloris: a request head one byte at a time, never ending
            with contextlib.suppress(OSError):
                for byte in b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 10_000:
                    await loop.sock_sendall(slow, bytes([byte]))
                    await asyncio.sleep(0.1)

        trickler = asyncio.create_task(trickle())
        try:
            # Closed after the 1 s deadline; 30 s is only how long the test waits at most.
            assert await closed_by_peer(silent, 30)
            assert await closed_by_peer(slow, 30)
        finally:
            trickler.cancel()
            silent.close()
            slow.close()
        assert ep.guard.held_by(ATTACKER) == 0  # every slot given back


def test_a_flood_cannot_exhaust_the_descriptors_of_the_process() -> None:
    """`serve` under RLIMIT_NOFILE=256 (a quarter of the usual 1024): 400 idle connections
    do not lock anyone out and the log holds no accept() errors (descriptors never run out)."""

    limited = (
        "import resource, runpy, sys; resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256)); "
        "sys.argv = ['streamscribe', *sys.argv[1:]]; runpy.run_module('streaming.cli', run_name='__main__')"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", limited, "serve", "--no-tls", "--port", "0", "--ws-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        urls = dict(part.split("=", 1) for part in line.split()[1:])

        async def attack() -> str:
            flood = []
            try:
                for port in (port_of(urls["websocket"]), port_of(urls["http2"])):
                    flood += await open_idle(port, 200)
                return await transcribe(urls["http2"])
            finally:
                for sock in flood:
                    sock.close()

        text = asyncio.run(attack())
        assert word_error_rate(FOX_TEXT, text) <= 0.2
    finally:
        server.terminate()
        try:
            _, log = server.communicate(timeout=20)
        finally:
            if server.poll() is None:
                server.kill()
    assert "out of system resource" not in log and "Too many open files" not in log
    assert "refused so far" in log
    assert log.count("closed a new") < 20  # a flood leaves a few lines, not one per connection
