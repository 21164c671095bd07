"""Independent clients for the local endpoint's tests: nothing of streamscribe's client.

The request is signed by botocore's SigV4Auth (or presigned by SigV4QueryAuth) and the
frames by amazon_transcribe's EventSigner; the wire is driven with h2 directly or with
the websockets library. Only our event-stream codec decodes the replies (it is tested
against botocore separately).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import h2.config
import h2.connection
import h2.events
import h2.settings
from amazon_transcribe.auth import Credentials as AtCredentials
from amazon_transcribe.eventstream import EventSigner as AtEventSigner
from amazon_transcribe.eventstream import EventStreamMessageSerializer
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hyperframe.frame import GoAwayFrame

import eventstream
from sigv4 import Credentials

AUDIO_HEADERS = {
    ":message-type": "event",
    ":event-type": "AudioEvent",
    ":content-type": "application/octet-stream",
}
_SERIALIZER = EventStreamMessageSerializer()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def botocore_signed_headers(
    url: str,
    headers: dict[str, str],
    creds: Credentials,
    *,
    region: str = "us-east-1",
    now: dt.datetime | None = None,
) -> dict[str, str]:
    request = AWSRequest(method="POST", url=url, headers=dict(headers), data=b"")
    naive = (now or utcnow()).astimezone(dt.UTC).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=naive):
        SigV4Auth(
            BotoCredentials(creds.access_key_id, creds.secret_access_key, creds.session_token),
            "transcribe",
            region,
        ).add_auth(request)
    return {k.lower(): str(v) for k, v in request.headers.items()}


def botocore_presigned(
    url: str,
    creds: Credentials,
    *,
    expires: int = 300,
    region: str = "us-east-1",
    now: dt.datetime | None = None,
) -> str:
    request = AWSRequest(method="GET", url=url)
    naive = (now or utcnow()).astimezone(dt.UTC).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=naive):
        SigV4QueryAuth(
            BotoCredentials(creds.access_key_id, creds.secret_access_key, creds.session_token),
            "transcribe",
            region,
            expires=expires,
        ).add_auth(request)
    return str(request.url)


class FrameSigner:
    """amazon_transcribe's event signer, seeded with a request signature (hex)."""

    def __init__(
        self,
        creds: Credentials,
        seed_hex: str,
        *,
        region: str = "us-east-1",
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.creds = AtCredentials(creds.access_key_id, creds.secret_access_key, creds.session_token)
        self.prior = bytes.fromhex(seed_hex)
        self.region = region
        self.clock = clock

    def sign(self, inner: bytes) -> bytes:
        signer = AtEventSigner("transcribe", self.region, utc_now=self.clock)
        headers = signer.sign(inner, self.prior, self.creds)
        self.prior = headers[":chunk-signature"]
        return _SERIALIZER.serialize(headers, inner)

    def audio(self, chunk: bytes) -> bytes:
        return self.sign(_SERIALIZER.serialize(AUDIO_HEADERS, chunk))

    def end(self) -> bytes:
        return self.sign(b"")


@dataclass
class Response:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)
    messages: list[eventstream.Message] = field(default_factory=list)
    reset: bool = False

    def events(self) -> list[eventstream.Message]:
        return list(eventstream.iter_decode([bytes(self.body)])) if self.status == 200 else []

    def transcripts(self, final_only: bool = True) -> list[str]:
        import json

        out = []
        for message in self.events():
            if message.headers.get(":event-type") != "TranscriptEvent":
                continue
            for result in json.loads(message.payload)["Transcript"]["Results"]:
                if final_only and result["IsPartial"]:
                    continue
                out.append(result["Alternatives"][0]["Transcript"])
        return out

    def exception(self) -> tuple[str, str] | None:
        import json

        for message in self.events():
            if message.headers.get(":message-type") == "exception":
                return str(message.headers[":exception-type"]), json.loads(message.payload)["Message"]
        return None


async def h2_exchange(
    base_url: str,
    path: str,
    headers: dict[str, str],
    frames: Iterable[bytes] | Callable[[dict[str, str]], Iterable[bytes]],
    *,
    ca_file: Path | None = None,
    pace: float = 0.0,
    end_stream: bool = True,
    authority: str | None = None,
    timeout: float = 60.0,
    goaway_after_headers: bool = False,
    initial_window: int | None = None,
) -> Response:
    """One HTTP/2 request; ``frames`` may be a function of the signed headers (for the seed)."""
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    context = None
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=str(ca_file))
        context.set_alpn_protocols(["h2"])
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port, ssl=context)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    if initial_window is not None:  # how much the server may send before we acknowledge
        conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: initial_window})
    sid = conn.get_next_available_stream_id()
    request_headers = [
        (":method", "POST"),
        (":scheme", parts.scheme),
        (":authority", authority or parts.netloc),
        (":path", path),
        *headers.items(),
    ]
    conn.send_headers(sid, request_headers)
    writer.write(conn.data_to_send())
    response = Response()
    done = asyncio.Event()
    window = asyncio.Event()

    async def read() -> None:
        while not done.is_set():
            data = await reader.read(65536)
            if not data:
                done.set()
                window.set()
                return
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    response.headers = dict(event.headers)  # type: ignore[arg-type]
                    response.status = int(response.headers[":status"])
                    if goaway_after_headers:
                        # What Node's http2 does for the official JS client: GOAWAY, then
                        # keep sending on the open stream. Stock h2 would refuse to send
                        # after its own GOAWAY, so the frame is written by hand.
                        writer.write(conn.data_to_send())
                        writer.write(GoAwayFrame(0, last_stream_id=0, error_code=0).serialize())
                elif isinstance(event, h2.events.DataReceived):
                    response.body += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    done.set()
                elif isinstance(event, h2.events.StreamReset):
                    response.reset = True
                    done.set()
                    window.set()
                elif isinstance(event, h2.events.WindowUpdated):
                    window.set()
                elif isinstance(event, h2.events.ConnectionTerminated):
                    done.set()
                    window.set()
            writer.write(conn.data_to_send())
        window.set()

    reader_task = asyncio.get_running_loop().create_task(read())
    try:
        to_send = frames(headers) if callable(frames) else frames
        for frame in to_send:
            if done.is_set():
                break
            view = memoryview(frame)
            while view and not done.is_set():
                available = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size)
                if available <= 0:
                    window.clear()
                    await window.wait()
                    continue
                conn.send_data(sid, bytes(view[:available]))
                view = view[available:]
                writer.write(conn.data_to_send())
            await writer.drain()
            if pace:
                await asyncio.sleep(pace)
        if end_stream and not done.is_set():
            conn.end_stream(sid)
            writer.write(conn.data_to_send())
            await writer.drain()
        await asyncio.wait_for(done.wait(), timeout)
    finally:
        reader_task.cancel()
        writer.close()
    return response


def chunks(data: bytes, size: int = 3200) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]
