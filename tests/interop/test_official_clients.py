"""Real third-party clients against the local endpoint: the proof that it is faithful.

The official Python SDK (amazon-transcribe, awscrt inside; trusts our CA via
SSL_CERT_FILE) and the official JavaScript SDK under Node (NODE_EXTRA_CA_CERTS, and h2c)
each stream the fox fixture and must get its words back; with a wrong secret each must
get the service's error. Both run as subprocesses: awscrt reads SSL_CERT_FILE at start-up.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from streaming.local import DEV_CREDENTIALS, LocalEndpoint
from tests.helpers import FIXTURES, FOX_TEXT, required_tool, word_error_rate

HERE = Path(__file__).resolve().parent
JS = HERE / "js"


async def run(argv: list[str], env: dict[str, str]) -> tuple[int, list[dict]]:
    process = await asyncio.create_subprocess_exec(
        *argv, env={**os.environ, **env}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 90)
    lines = [json.loads(line) for line in stdout.decode().splitlines() if line.startswith("{")]
    assert lines, f"no output; stderr: {stderr.decode()[-2000:]}"
    return process.returncode or 0, lines


def local(url: str) -> str:
    # The SDKs verify the certificate for the name they dial; ours covers localhost.
    return url.replace("127.0.0.1", "localhost")


async def python_sdk(ep: LocalEndpoint, secret: str) -> tuple[int, list[dict]]:
    argv = [
        sys.executable,
        str(HERE / "amazon_transcribe_client.py"),
        local(ep.http2_url),
        DEV_CREDENTIALS.access_key_id,
        secret,
        str(FIXTURES / "fox.pcm"),
    ]
    return await run(argv, {"SSL_CERT_FILE": str(ep.ca_file)})


async def js_sdk(ep: LocalEndpoint, secret: str) -> tuple[int, list[dict]]:
    node = required_tool("node", "the official JavaScript client's interop test", "sudo apt-get install nodejs npm")
    assert (JS / "node_modules" / "@aws-sdk" / "client-transcribe-streaming").is_dir(), (
        "run: make test (npm ci in tests/interop/js)"
    )
    env = {"NODE_EXTRA_CA_CERTS": str(ep.ca_file)} if ep.ca_file else {}
    argv = [
        node,
        str(JS / "client.mjs"),
        local(ep.http2_url),
        DEV_CREDENTIALS.access_key_id,
        secret,
        str(FIXTURES / "fox.pcm"),
    ]
    return await run(argv, env)


async def test_official_python_sdk(endpoint: LocalEndpoint) -> None:
    code, lines = await python_sdk(endpoint, DEV_CREDENTIALS.secret_access_key)
    assert code == 0, lines
    finals = [line["final"] for line in lines if "final" in line]
    assert word_error_rate(FOX_TEXT, " ".join(finals)) <= 0.15
    assert lines[-1] == {"done": True}


async def test_official_python_sdk_wrong_secret(endpoint: LocalEndpoint) -> None:
    code, lines = await python_sdk(endpoint, "not the secret")
    assert code == 1
    assert "InvalidSignatureException" in lines[-1]["error"]


@pytest.mark.parametrize("tls", ["self-signed", "none"])
async def test_official_js_sdk(tls: str) -> None:
    async with LocalEndpoint(tls=tls) as ep:
        code, lines = await js_sdk(ep, DEV_CREDENTIALS.secret_access_key)
        assert code == 0, lines
        finals = [line["final"] for line in lines if "final" in line]
        assert word_error_rate(FOX_TEXT, " ".join(finals)) <= 0.15
        assert lines[-1]["done"] is True
        # The JS client sends GOAWAY right after the response headers; the stream completed anyway.
        assert ep.completed[-1].outcome == "completed"


async def test_official_js_sdk_wrong_secret(endpoint: LocalEndpoint) -> None:
    code, lines = await js_sdk(endpoint, "not the secret")
    assert code == 1
    assert lines[-1]["name"] == "InvalidSignatureException"
