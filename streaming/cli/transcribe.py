"""``streamscribe transcribe`` and ``presign``: audio in, captions out; a presigned WebSocket URL."""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path
from typing import Any, Literal

from .common import CliError, check_ca, credentials_from_args, interrupt_promptly, note
from .parser import service_values

__all__ = ["presign", "transcribe"]

_SUFFIXES = {".srt": "srt", ".vtt": "vtt", ".jsonl": "jsonl", ".json": "json", ".txt": "text"}
_KEEPALIVE = 2.0  # seconds a live PCM source may stall before silence keeps the stream open


def presign(args: argparse.Namespace) -> str:
    from ..aio.client import presign_websocket_url  # noqa: PLC0415
    from ..proto.connection import default_endpoint  # noqa: PLC0415
    from ..proto.endpoints import check_endpoint, check_region  # noqa: PLC0415

    check_region(args.region)
    credentials = credentials_from_args(
        args, check_endpoint(args.endpoint or default_endpoint(args.region, "websocket"), "websocket")
    )
    return presign_websocket_url(
        region=args.region,
        credentials=credentials,
        expires=args.expires,
        endpoint=args.endpoint,
        language_code=args.language,
        media_sample_rate_hz=args.rate,
        media_encoding=args.encoding,
        **service_values(args),
    )


# -- transcribe ------------------------------------------------------------------------------


def _source(args: argparse.Namespace) -> Any:
    from ..aio.audio import AudioSource, open_audio, open_stream  # noqa: PLC0415
    from ..aio.microphone import MicrophoneSource  # noqa: PLC0415

    if args.mic:
        if args.audio:
            raise CliError("give either an audio file or --mic, not both")
        return MicrophoneSource(sample_rate=args.rate or 16000, channels=args.channels or 1, chunk_ms=args.chunk_ms)
    if not args.audio:
        raise CliError("no audio: give a file, - for stdin, or --mic")
    source: AudioSource
    if args.audio == "-":
        source = open_stream(
            sys.stdin.buffer, name="stdin", sample_rate=args.rate, channels=args.channels, chunk_ms=args.chunk_ms
        )
    else:
        source = open_audio(args.audio, sample_rate=args.rate, channels=args.channels, chunk_ms=args.chunk_ms)
    return source


def _channel_values(args: argparse.Namespace, source: Any, values: dict[str, Any]) -> list[dict[str, object]] | None:
    """Two-channel audio turns on what transcribes each channel apart, or says what to change."""
    definitions: list[dict[str, object]] | None = None
    roles = [r.strip().upper() for r in args.channel_roles.split(",")] if args.channel_roles else None
    if roles is not None and not args.call_analytics:
        raise CliError("--channel-roles is for --call-analytics; for other streams two channels are ch_0 and ch_1")
    if args.call_analytics:
        if roles is None and source.channels == 2:
            roles = ["AGENT", "CUSTOMER"]
            note("two channels: channel 0 is the AGENT, channel 1 the CUSTOMER (--channel-roles to change)")
        if roles is not None:
            if source.channels != 2:
                raise CliError(
                    "--channel-roles names the roles of channel 0 and 1 of two-channel audio (the service takes "
                    "exactly two ChannelDefinitions); this audio is mono: leave --channel-roles out"
                )
            if len(roles) != 2:
                raise CliError("two-channel audio needs two --channel-roles, e.g. AGENT,CUSTOMER")
            definitions = [{"ChannelId": i, "ParticipantRole": role} for i, role in enumerate(roles)]
        return definitions
    if source.channels == 2:
        if args.number_of_channels not in (None, 2):
            raise CliError(f"the audio has 2 channels but --number-of-channels is {args.number_of_channels}")
        if values.get("enable_channel_identification") is None or args.number_of_channels is None:
            note("two channels: each is transcribed apart (channel identification, ch_0 and ch_1)")
        values["enable_channel_identification"] = True
        values["number_of_channels"] = 2
    elif args.number_of_channels is not None:
        values["number_of_channels"] = args.number_of_channels
    return None


def _open_stream(client: Any, args: argparse.Namespace, source: Any) -> Any:
    common = {"media_sample_rate_hz": source.sample_rate, "media_encoding": source.media_encoding}
    values = service_values(args)
    definitions = _channel_values(args, source, values)
    if args.medical:
        if not (args.specialty and args.medical_type):
            raise CliError("--medical needs --specialty and --type")
        return client.start_medical_stream_transcription(
            **common,
            specialty=args.specialty,
            type=args.medical_type,
            language_code=args.language or "en-US",
            **values,
        )
    language: dict[str, Any] = {"language_code": args.language or "en-US"}
    if args.identify_language:
        language = {"identify_language": True, "language_options": args.identify_language.split(",")}
    elif args.identify_multiple_languages:
        language = {
            "identify_multiple_languages": True,
            "language_options": args.identify_multiple_languages.split(","),
        }
    if args.call_analytics:
        return client.start_call_analytics_stream_transcription(
            **common, **language, channel_definitions=definitions, **values
        )
    return client.start_stream_transcription(**common, **language, **values)


def _transport(args: argparse.Namespace) -> Literal["http2", "websocket"]:
    """The transport: the flag, else what the endpoint's scheme says."""
    from ..proto.endpoints import transport_for  # noqa: PLC0415
    from ..proto.errors import ParameterError  # noqa: PLC0415

    try:
        return transport_for(args.endpoint, args.transport)
    except ParameterError as exc:
        if exc.param != "transport":
            raise CliError(f"--{exc}") from exc  # "--endpoint '...' is not a URL: ..."
        wanted = "wss:// (or ws://)" if args.transport == "websocket" else "https:// (or http://)"
        raise CliError(
            f"--transport {args.transport} needs a {wanted} endpoint, but --endpoint is {args.endpoint}; "
            "change one of them (or drop --transport: the scheme decides)"
        ) from exc


def _output_mode(args: argparse.Namespace) -> str:
    """--output, else what the -o file's suffix says (checked before connecting)."""
    if args.output is not None or args.output_file is None:
        return str(args.output or "text")
    return _SUFFIXES.get(Path(args.output_file).suffix.lower(), "text")


def _outputs(args: argparse.Namespace, source: Any, mode: str) -> tuple[list[Any], Any]:
    """The printers: ``mode`` to stdout or -o FILE, plus live captions on a terminal."""
    from .display import CaptionPrinter  # noqa: PLC0415

    total = getattr(source, "duration", None)
    if args.output_file is None:
        return [CaptionPrinter(sys.stdout, mode=mode, total_seconds=total)], None
    try:
        file = open(args.output_file, "w", encoding="utf-8")  # noqa: SIM115 - closed by _transcribe
    except OSError as exc:
        raise CliError(f"cannot write -o {args.output_file}: {exc.strerror}") from exc
    # The summary line goes to the terminal's printer (or nowhere), not into the file.
    printers = [CaptionPrinter(file, mode=mode, total_seconds=total, tty=False, status=io.StringIO())]
    if sys.stdout.isatty():
        printers.append(CaptionPrinter(sys.stdout, mode="text", total_seconds=total))
    return printers, file


def _warn_about_language(args: argparse.Namespace, endpoint: str) -> None:
    from ..proto.credentials import is_local_endpoint  # noqa: PLC0415

    languages = [args.language] if args.language else []
    for option in (args.identify_language, args.identify_multiple_languages):
        if option:
            languages += option.split(",")
    if is_local_endpoint(endpoint) and any(not lang.strip().lower().startswith("en") for lang in languages):
        note("the local endpoint recognises English only; other languages come back as English words")


async def transcribe(args: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415 - only the commands that run a loop load it

    from ..aio.audio import AsyncByteSource  # noqa: PLC0415
    from ..aio.client import TranscribeStreamingClient  # noqa: PLC0415
    from ..aio.microphone import MicrophoneSource  # noqa: PLC0415
    from ..proto.connection import default_endpoint  # noqa: PLC0415
    from ..proto.endpoints import check_endpoint, check_region  # noqa: PLC0415

    interrupt_promptly(asyncio.get_running_loop())
    if args.medical and args.call_analytics:
        raise CliError("choose one of --medical and --call-analytics")
    for flag, value in (("--specialty", args.specialty), ("--type", args.medical_type)):
        if value is not None and not args.medical:
            raise CliError(f"{flag} is for --medical streams (StartMedicalStreamTranscription); add --medical")
    transport = _transport(args)
    check_region(args.region)  # flags first: a bad endpoint must not look like a credentials problem
    endpoint = check_endpoint(args.endpoint or default_endpoint(args.region, transport), transport)
    check_ca(args.ca)
    mode = _output_mode(args)
    source = _source(args)
    credentials = credentials_from_args(args, endpoint)
    client = TranscribeStreamingClient(
        region=args.region, credentials=credentials, endpoint=args.endpoint, transport=transport, ca_file=args.ca
    )
    stream = _open_stream(client, args, source)  # every parameter checked: a bad language is an error first
    _warn_about_language(args, endpoint)
    live = isinstance(source, MicrophoneSource | AsyncByteSource)  # stdin and the microphone pace themselves
    speed = 1.0 if args.speed is None else args.speed
    keepalive = _KEEPALIVE if live else None  # a live source that stalls: silence in its own encoding
    printers, file = _outputs(args, source, mode)
    try:
        async with stream:
            sender = asyncio.create_task(
                stream.send_from(source, realtime=speed > 0 and not live, speed=speed or 1.0, keepalive=keepalive)
            )
            try:
                async for event in stream:
                    for printer in printers:
                        printer.event(event, stream.stats)
                await sender
            finally:
                sender.cancel()
                with contextlib.suppress(BaseException):
                    await sender
        for printer in printers:
            printer.ids = {"SessionId": stream.session_id, "RequestId": stream.request_id}
            printer.finish(stream.stats)
        if stream.audio_damage is not None:
            note(
                f"warning: {stream.audio_damage}; transcribed the {stream.stats.audio_seconds:.1f} s of audio before it"
            )
    except BaseException:  # an error or Ctrl-C: what was recognised is kept, then the error line
        for printer in printers:
            printer.ids = {"SessionId": stream.session_id, "RequestId": stream.request_id}
            printer.abandon()
        raise
    finally:
        if file is not None:
            file.close()
    return 0
