"""Stream a file through the official amazon-transcribe SDK (run as a subprocess).

    python amazon_transcribe_client.py ENDPOINT_URL AKID SECRET FILE.pcm

SSL_CERT_FILE must point at the local endpoint's CA (awscrt reads it at start-up).
Prints one JSON line per final transcript, then {"done": true}, or {"error": ..., "type": ...}.
"""

from __future__ import annotations

import asyncio
import json
import sys

from amazon_transcribe.auth import StaticCredentialResolver
from amazon_transcribe.client import TranscribeStreamingClient
from amazon_transcribe.endpoints import StaticEndpointResolver
from amazon_transcribe.handlers import TranscriptResultStreamHandler


class Handler(TranscriptResultStreamHandler):
    async def handle_transcript_event(self, transcript_event) -> None:  # type: ignore[no-untyped-def]
        for result in transcript_event.transcript.results:
            if not result.is_partial:
                print(json.dumps({"final": result.alternatives[0].transcript}), flush=True)


async def main(endpoint: str, akid: str, secret: str, path: str) -> None:
    client = TranscribeStreamingClient(
        region="us-east-1",
        endpoint_resolver=StaticEndpointResolver(endpoint),
        credential_resolver=StaticCredentialResolver(access_key_id=akid, secret_access_key=secret),
    )
    stream = await client.start_stream_transcription(
        language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
    )
    data = open(path, "rb").read()  # noqa: SIM115

    async def write() -> None:
        for i in range(0, len(data), 3200):
            await stream.input_stream.send_audio_event(audio_chunk=data[i : i + 3200])
            await asyncio.sleep(0.02)
        await stream.input_stream.end_stream()

    await asyncio.gather(write(), Handler(stream.output_stream).handle_events())
    print(json.dumps({"done": True}), flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main(*sys.argv[1:5]))
    except Exception as exc:
        print(json.dumps({"error": str(exc), "type": type(exc).__name__}), flush=True)
        sys.exit(1)
