"""The job API and the WebSocket handshake attacked over raw sockets: split bodies, deep
JSON, bytes that are not UTF-8. Every answer is a 4xx with the service's ``__type``.

Requests are signed by botocore (an independent signer) and written by hand to the
socket, so the attacks control every byte and every TCP segment.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

import eventstream
from streaming.local import DEV_CREDENTIALS, LocalEndpoint

from .raw_clients import botocore_presigned


def signed_job_request(url: str, body: bytes, target: str = "Transcribe.GetTranscriptionJob") -> dict[str, str]:
    request = AWSRequest(
        method="POST",
        url=url + "/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
    )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=now):
        SigV4Auth(
            BotoCredentials(DEV_CREDENTIALS.access_key_id, DEV_CREDENTIALS.secret_access_key), "transcribe", "us-east-1"
        ).add_auth(request)
    return {k: str(v) for k, v in request.headers.items()}


async def exchange(port: int, head: bytes, body_parts: list[bytes], gap: float = 0.05) -> tuple[int, dict, bytes]:
    """Write the request head, then each body part as its own segment ``gap`` s apart."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        await writer.drain()
        for part in body_parts:
            await asyncio.sleep(gap)
            writer.write(part)
            await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 30)
        headers = {}
        while (line := await asyncio.wait_for(reader.readline(), 30)) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", "0"))), 30)
        return int(status_line.split()[1]), headers, body
    finally:
        writer.close()


def head_for(port: int, headers: dict[str, str], length: int) -> bytes:
    lines = [b"POST / HTTP/1.1", f"Host: 127.0.0.1:{port}".encode()]
    lines += [f"{k}: {v}".encode() for k, v in headers.items() if k.lower() != "host"]
    lines.append(f"Content-Length: {length}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def test_a_signed_body_in_two_segments_is_verified_whole() -> None:
    async with LocalEndpoint(tls="none", engine="none") as ep:
        port = int(ep.http_url.rsplit(":", 1)[1])
        body = json.dumps({"TranscriptionJobName": "not-there"}).encode()
        headers = signed_job_request(ep.http_url, body)
        status, _, answer = await exchange(port, head_for(port, headers, len(body)), [body[:10], body[10:]])
    # The signature held (the whole body was verified): the answer is about the job.
    assert status == 400 and json.loads(answer)["__type"] == "BadRequestException"
    assert "couldn't be found" in answer.decode()


async def test_json_nested_100000_deep_is_a_serialization_error() -> None:
    async with LocalEndpoint(tls="none", engine="none") as ep:
        port = int(ep.http_url.rsplit(":", 1)[1])
        body = b"[" * 100_000 + b"]" * 100_000
        headers = signed_job_request(ep.http_url, body)
        status, _, answer = await exchange(port, head_for(port, headers, len(body)), [body], gap=0)
    assert status == 400 and json.loads(answer)["__type"] == "SerializationException"


async def test_an_oversized_body_is_refused_before_it_is_read() -> None:
    async with LocalEndpoint(tls="none", engine="none") as ep:
        port = int(ep.http_url.rsplit(":", 1)[1])
        headers = signed_job_request(ep.http_url, b"{}")
        status, _, answer = await exchange(port, head_for(port, headers, 64 * 1024 * 1024), [b"{}"], gap=0)
    assert status == 400 and json.loads(answer)["__type"] == "SerializationException"


async def test_a_target_header_that_is_not_utf8_is_a_4xx() -> None:
    async with LocalEndpoint(tls="none", engine="none") as ep:
        port = int(ep.http_url.rsplit(":", 1)[1])
        headers = signed_job_request(ep.http_url, b"{}")
        head = head_for(port, headers, 2).replace(b"X-Amz-Target: Transcribe.", b"X-Amz-Target: \xff\xfe.")
        status, _, answer = await exchange(port, head, [b"{}"], gap=0)
    assert 400 <= status < 500 and json.loads(answer)["__type"]


async def test_a_websocket_host_that_is_not_utf8_is_refused_not_a_500() -> None:
    async with LocalEndpoint(tls="none", engine="none") as ep:
        port = int(ep.http_url.rsplit(":", 1)[1])
        url = botocore_presigned(
            f"{ep.websocket_url}/stream-transcription-websocket?language-code=en-US&media-encoding=pcm"
            "&sample-rate=16000",
            DEV_CREDENTIALS,
        )
        target = url.split(str(port), 1)[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(
                f"GET {target} HTTP/1.1\r\n".encode()
                + b"Host: 127.0.0.1\xff\xfe\r\n"
                + b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                + b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
            )
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            # As the service does for a WebSocket: the upgrade, then the refusal as an
            # exception message in the first binary frame.
            assert head.startswith(b"HTTP/1.1 101")
            opcode, length = await asyncio.wait_for(reader.readexactly(2), 30)
            assert opcode == 0x82
            if length == 126:
                length = int.from_bytes(await reader.readexactly(2), "big")
            message = eventstream.decode(await reader.readexactly(length))
        finally:
            writer.close()
    assert message.headers[":message-type"] == "exception"
    assert message.headers[":exception-type"] == "InvalidSignatureException"
    assert "not UTF-8" in json.loads(message.payload)["Message"]
