"""The web-app kit end to end in headless Chromium, with the microphone replaced by a recording.

Chromium (Debian's, driven by Playwright) plays tests/fixtures/fox.wav as its fake
microphone; the example app (examples/webapp) serves the page, the browser module, the
presign handler and the relay, against the real local endpoint. Each failure a page must
show is produced for real: a visitor without a session, a URL that has expired, the
service's exception, and a connection the service drops.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Page, async_playwright

from streaming.local import DEV_CREDENTIALS, LocalEndpoint
from tests.helpers import CHROMIUM_INSTALL, FIXTURES, FOX_TEXT, ROOT, required_tool, word_error_rate

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    f"--use-file-for-fake-audio-capture={FIXTURES / 'fox.wav'}",
]  # fmt: skip


def example_app() -> Any:
    spec = importlib.util.spec_from_file_location("captions_example_app", ROOT / "examples" / "webapp" / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class AppSocket:
    """The app's listening socket, bound first: the endpoint must know the page's origin."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.origin = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def endpoint(self, **kw: Any) -> LocalEndpoint:
        # The local endpoint, like a careful service double, only takes WebSockets from
        # pages it knows; the app's page is one.
        return LocalEndpoint(tls="none", allowed_origins=[self.origin], **kw)


async def serve(app: web.Application, where: AppSocket) -> web.AppRunner:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.SockSite(runner, where.sock).start()
    return runner


async def run_page(
    endpoint: LocalEndpoint, where: AppSocket, query: str, *, presign_clock: Callable[[], dt.datetime] | None = None
) -> tuple[str, list[str], str, list[str]]:
    """Open the example app's page with ``query``; its final state, finals, status line and event log."""
    app = example_app().make_app(
        region="us-east-1",
        credentials=DEV_CREDENTIALS,
        websocket_endpoint=endpoint.websocket_url,
        http2_endpoint=endpoint.http2_url,
        presign_clock=presign_clock,
    )
    runner = await serve(app, where)
    try:
        return await drive_page(f"{where.origin}/?{query}")
    finally:
        await runner.cleanup()


async def drive_page(url: str) -> tuple[str, list[str], str, list[str]]:
    """Open the page at ``url`` in Chromium; its final state, finals, status line and event log."""
    chromium = required_tool("chromium", "the browser test", CHROMIUM_INSTALL)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page: Page = await browser.new_page()
            await page.goto(url)
            await page.wait_for_selector("body[data-state]", timeout=90_000)
            state = await page.get_attribute("body", "data-state") or ""
            finals = await page.locator("#finals p.final").all_text_contents()
            status = await page.locator("#status").text_content() or ""
            log = await page.evaluate("window.captionLog")
        finally:
            await browser.close()
    return state, finals, status, log


@pytest.fixture
def where() -> AppSocket:
    return AppSocket()


@pytest.fixture
async def local(where: AppSocket) -> AsyncIterator[LocalEndpoint]:
    async with where.endpoint() as ep:
        yield ep


@pytest.mark.parametrize("mode", ["presign", "relay"])
async def test_the_microphone_is_captioned(local: LocalEndpoint, where: AppSocket, mode: str) -> None:
    state, finals, status, _ = await run_page(local, where, f"start={mode}&one-line")
    assert state == "closed" and status == "Done.", (state, status)
    assert finals and word_error_rate(FOX_TEXT, finals[0]) <= 0.35
    stream = local.completed[-1]
    assert stream.outcome == "completed"
    if mode == "presign":
        assert stream.frames > 20  # bare AudioEvents from the page itself, 100 ms each


@pytest.mark.parametrize("mode", ["presign", "relay"])
async def test_a_visitor_the_app_refuses_sees_why(local: LocalEndpoint, where: AppSocket, mode: str) -> None:
    state, finals, status, _ = await run_page(local, where, f"start={mode}&signed-in=no")
    assert state == "failed" and finals == []
    assert status.startswith("Unauthorized: ")
    assert local.completed == [] or all(s.outcome != "completed" for s in local.completed)


async def test_an_expired_url_is_refused_by_the_service_and_shown(local: LocalEndpoint, where: AppSocket) -> None:
    def ten_minutes_ago() -> dt.datetime:
        return dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)

    state, _, status, _ = await run_page(local, where, "start=presign", presign_clock=ten_minutes_ago)
    assert state == "failed"
    assert "expired" in status.lower()


@pytest.mark.parametrize("mode", ["presign", "relay"])
async def test_the_services_exception_reaches_the_page(where: AppSocket, mode: str) -> None:
    faults = {"Faults": [{"ExceptionAt": {"Seconds": 1.0, "Exception": "BadRequestException"}}]}
    async with where.endpoint(resources=faults) as ep:
        state, _, status, log = await run_page(ep, where, f"start={mode}")
    assert state == "failed" and status.startswith("BadRequestException: ")
    assert "error" in log


async def test_a_dropped_connection_is_retried_with_fresh_urls_then_reported(where: AppSocket) -> None:
    faults = {"Faults": [{"ResetAt": {"Seconds": 0.5, "How": "tcp"}}]}
    async with where.endpoint(resources=faults) as ep:
        state, _, status, log = await run_page(ep, where, "start=presign")
        resets = [s for s in ep.completed if "reset" in s.outcome]
    assert log.count("reconnecting") == 3  # maxReconnects, each with a fresh presigned URL
    assert state == "failed" and status.startswith("ConnectionLost: ")
    assert len(resets) == 4


@pytest.mark.parametrize("mode", ["presign", "relay"])
async def test_the_example_captions_when_started_with_its_documented_command(mode: str) -> None:
    """``python examples/webapp/app.py --local`` as its docstring says (on a free port): both
    buttons caption; the local endpoint it starts takes the page's origin."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "examples" / "webapp" / "app.py"), "--local", "--port", str(port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert app.stdout is not None
        line = (await asyncio.wait_for(app.stdout.readline(), 60)).decode()
        assert line.startswith(f"captions app: http://127.0.0.1:{port}/"), line
        state, finals, status, _ = await drive_page(f"http://127.0.0.1:{port}/?start={mode}&one-line")
    finally:
        app.send_signal(signal.SIGINT)
        output = (await asyncio.wait_for(app.communicate(), 30))[0].decode()
    assert state == "closed" and status == "Done.", (state, status, output)
    assert finals and word_error_rate(FOX_TEXT, finals[0]) <= 0.35
    assert app.returncode == 0 and "Traceback" not in output, output


async def test_without_a_microphone_the_buttons_work_again(local: LocalEndpoint, where: AppSocket) -> None:
    app = example_app().make_app(
        region="us-east-1", credentials=DEV_CREDENTIALS,
        websocket_endpoint=local.websocket_url, http2_endpoint=local.http2_url,
    )  # fmt: skip
    runner = await serve(app, where)
    chromium = required_tool("chromium", "the browser test", CHROMIUM_INSTALL)
    no_microphone = [arg for arg in CHROMIUM_ARGS if "fake" not in arg]
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium, args=no_microphone)
            try:
                page = await browser.new_page()
                await page.goto(f"{where.origin}/?start=presign")
                await page.wait_for_selector("body[data-state=failed]", timeout=30_000)
                enabled = [not await page.locator(f"#{b}").is_disabled() for b in ("presign", "relay", "stop")]
                status = await page.locator("#status").text_content()
            finally:
                await browser.close()
    finally:
        await runner.cleanup()
    assert enabled == [True, True, False], status
