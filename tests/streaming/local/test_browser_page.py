"""The browser page end to end in headless Chromium (Debian's, driven by Playwright).

The page asks the endpoint for a presigned URL, streams the bundled recording as bare
AudioEvents over the WebSocket, and renders partial and final captions.
"""

from __future__ import annotations

import pytest
from playwright.async_api import async_playwright

from streaming.local import LocalEndpoint
from tests.helpers import CHROMIUM_INSTALL, FIXTURES, required_tool, word_error_rate

DEMO_TEXT = (FIXTURES / "demo.txt").read_text()
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.mark.parametrize("tls", ["none", "self-signed"])
async def test_page_captions_the_bundled_recording(tls: str) -> None:
    chromium = required_tool("chromium", "the browser test", CHROMIUM_INSTALL)
    async with LocalEndpoint(tls=tls) as ep, async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(ignore_https_errors=True)
            page = await context.new_page()
            sent = []

            def frame_sent(frame: object) -> None:  # a plain function: Playwright tags handlers
                sent.append(frame)

            page.on("websocket", lambda ws: ws.on("framesent", frame_sent))
            base = ep.websocket_url.replace("ws", "http", 1)
            await page.goto(f"{base}/?source=file&speed=4")
            # Partial captions show while the audio is still streaming...
            await page.wait_for_function(
                "document.querySelector('#partial').textContent.trim().length > 0", timeout=30_000
            )
            # ...and the final lines settle.
            await page.wait_for_selector("body[data-done=true]", timeout=60_000)
            finals = await page.locator("#finals p.final").all_text_contents()
            icon = await page.locator("link[rel=icon]").get_attribute("href")
            assert icon is not None
            fetched = await page.request.get(f"{base}{icon}")
            assert fetched.status == 200 and fetched.headers["content-type"].startswith("image/")
        finally:
            await browser.close()
    assert len(finals) >= 4  # one line per sentence
    assert word_error_rate(DEMO_TEXT, " ".join(finals)) <= 0.3
    assert len(sent) > 200  # 100 ms AudioEvents, bare (unsigned), as browsers send them
    stream = ep.completed[-1]
    assert stream.outcome == "completed"
    assert stream.frames == len(sent)


async def test_page_shows_the_services_error_and_keeps_it() -> None:
    chromium = required_tool("chromium", "the browser test", CHROMIUM_INSTALL)
    # Audio every 2.5 s against a 1 s idle limit: the service ends the stream with its error.
    async with LocalEndpoint(tls="none", idle_timeout=1.0) as ep, async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            base = ep.websocket_url.replace("ws", "http", 1)
            await page.goto(f"{base}/?source=file&speed=0.04")
            await page.wait_for_selector("body[data-done=true]", timeout=30_000)
            status = await page.locator("#status").text_content()
            classes = await page.locator("#status").get_attribute("class")
        finally:
            await browser.close()
    assert classes == "error"
    assert status is not None and status.startswith("BadRequestException: ")
    assert "no new audio" in status  # the service's own message, not "Done."


async def test_without_a_microphone_the_page_says_so_and_captions_the_recording() -> None:
    chromium = required_tool("chromium", "the browser test", CHROMIUM_INSTALL)
    async with LocalEndpoint(tls="none") as ep, async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)  # no fake device
        try:
            page = await browser.new_page()
            await page.goto(ep.websocket_url.replace("ws", "http", 1) + "/")
            await page.click("#mic")
            await page.wait_for_function(
                "document.querySelector('#partial').textContent.trim().length > 0", timeout=30_000
            )
            status = await page.locator("#status").text_content()  # while the recording streams
            await page.click("#stop")
            await page.wait_for_selector("body[data-done=true]", timeout=30_000)
        finally:
            await browser.close()
    assert status is not None and status.startswith("No microphone (")
    assert status.endswith("captioning the bundled recording instead.")
