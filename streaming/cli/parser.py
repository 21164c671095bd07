"""The command line's grammar: one builder per subcommand, the service flags from the parameter table."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, Final, NoReturn

from ..proto.params import PARAMETERS, Param
from .common import EXIT_USAGE

__all__ = ["build_parser", "service_values"]

# Parameters that have a flag of their own or come from the audio.
_SPECIAL = {
    "language_code", "media_sample_rate_hz", "media_encoding", "identify_language",
    "language_options", "identify_multiple_languages", "specialty", "type", "number_of_channels",
}  # fmt: skip


# What each service option does, in the user's words (the flag is the API's own name).
SERVICE_HELP: Final = {
    "vocabulary_name": "custom vocabulary to recognise with",
    "session_id": "the stream's session id (a UUID; the service makes one when left out)",
    "vocabulary_filter_name": "vocabulary filter to apply to the words",
    "vocabulary_filter_method": "what the filter does to a matching word",
    "show_speaker_label": "label who speaks each word (speaker diarization)",
    "enable_channel_identification": "transcribe each channel of two-channel audio on its own",
    "enable_partial_results_stabilization": "mark the words of partial results that will not change",
    "partial_results_stability": "how soon words become stable: more stable is less accurate",
    "content_identification_type": "mark personal information in the words",
    "content_redaction_type": "replace personal information in the words",
    "pii_entity_types": "which kinds of personal information (default: all)",
    "language_model_name": "custom language model to recognise with",
    "preferred_language": "the language to favour when identifying one",
    "vocabulary_names": "custom vocabularies, one per identified language",
    "vocabulary_filter_names": "vocabulary filters, one per identified language",
    "session_resume_window": "seconds after a lost connection in which the session may resume",
    "transcript_format": "words as spoken or as written (numbers, dates)",
}


def _add_service_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("service options (flags named as the API names them)")
    for param in PARAMETERS:
        if param.name in _SPECIAL:
            continue
        flag = f"--{param.wire}"
        about = SERVICE_HELP[param.name]  # a new parameter needs its words here
        if param.kind is bool:
            group.add_argument(flag, dest=param.name, action="store_true", default=None, help=about)
        elif param.kind is int:
            group.add_argument(flag, dest=param.name, type=int, metavar="N", help=about)
        else:
            choices = f" ({', '.join(sorted(param.choices))})" if param.choices and not param.list_valued else ""
            metavar = "A,B,..." if param.list_valued else "VALUE"
            group.add_argument(flag, dest=param.name, metavar=metavar, help=f"{about}{choices}")


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument("--region", default="us-east-1", help="AWS region")
    group.add_argument("--profile", help="credentials profile (~/.aws/credentials, ~/.aws/config)")
    group.add_argument("--endpoint", help="endpoint URL, e.g. https://127.0.0.1:8443 for a local endpoint")
    group.add_argument("--ca", help="CA file (PEM) to trust, e.g. a local endpoint's --ca-out")
    group.add_argument(
        "--transport",
        choices=["http2", "websocket"],
        help="default: from the endpoint's scheme (wss:// or ws:// means websocket), else http2",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="streamscribe",
        description="Stream live audio to Amazon Transcribe (or a local endpoint) and get captions back.",
        formatter_class=_Help,
        epilog="examples:\n  streamscribe demo\n  streamscribe serve --port 8443 --ca-out ca.pem\n"
        "  streamscribe transcribe speech.wav --endpoint https://127.0.0.1:8443 --ca ca.pem --output srt",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_transcribe(commands)
    _add_presign(commands)
    _add_serve(commands)
    _add_demo(commands)
    _add_job(commands)
    return parser


def _add_transcribe(commands: argparse._SubParsersAction[_Parser]) -> None:
    """transcribe: audio in, captions out."""
    t = commands.add_parser(
        "transcribe",
        help="transcribe an audio file, stdin or the microphone",
        formatter_class=_Help,
        epilog="examples:\n"
        "  streamscribe transcribe speech.flac                          # your AWS account\n"
        "  streamscribe transcribe speech.wav --output vtt > speech.vtt\n"
        "  cat speech.pcm | streamscribe transcribe - --rate 16000 --speed 4\n"
        "  streamscribe transcribe call.flac --call-analytics --channel-roles AGENT,CUSTOMER\n"
        "  streamscribe transcribe note.wav --medical --specialty PRIMARYCARE --type DICTATION\n"
        "  streamscribe transcribe --mic --language en-GB",
    )
    t.add_argument("audio", nargs="?", help="WAV, FLAC, Ogg/Opus or raw PCM file; - for stdin")
    t.add_argument("--mic", action="store_true", help="record from the microphone (needs the mic extra)")
    t.add_argument("--rate", type=_positive(int), help="sample rate of raw PCM input (Hz)")
    t.add_argument("--channels", type=int, choices=[1, 2], help="channels of raw PCM input (default: 1)")
    t.add_argument("--chunk-ms", type=int, default=100, help="audio per event, 50..200 ms")
    speed = t.add_mutually_exclusive_group()
    speed.add_argument("--realtime", dest="speed", action="store_const", const=1.0, help="send in real time (default)")
    speed.add_argument("--speed", type=_positive(float), help="send X times faster than real time")
    speed.add_argument("--no-pacing", dest="speed", action="store_const", const=0.0, help="send as fast as possible")
    t.add_argument(
        "--output",
        choices=["text", "json", "jsonl", "srt", "vtt"],
        help="what to write: text (final lines), json (one document at the end), jsonl (every event), "
        "srt or vtt (default: from the -o file's suffix, else text)",
    )
    t.add_argument(
        "-o",
        "--output-file",
        metavar="FILE",
        help="write there, cue by cue (a terminal still shows live captions)",
    )
    language = t.add_mutually_exclusive_group()
    language.add_argument("--language", help="language code, e.g. en-US (default: en-US)")
    language.add_argument("--identify-language", metavar="OPTS", help="identify one of these languages: en-US,de-DE")
    language.add_argument("--identify-multiple-languages", metavar="OPTS", help="identify several of these languages")
    op = t.add_mutually_exclusive_group()
    op.add_argument("--medical", action="store_true", help="StartMedicalStreamTranscription")
    op.add_argument("--call-analytics", action="store_true", help="StartCallAnalyticsStreamTranscription")
    t.add_argument("--specialty", help="medical specialty (PRIMARYCARE, CARDIOLOGY, ...)")
    t.add_argument("--type", dest="medical_type", help="medical type: CONVERSATION or DICTATION")
    t.add_argument("--channel-roles", metavar="ROLE,ROLE", help="call analytics roles of channel 0 and 1")
    t.add_argument(
        "--number-of-channels", type=int, help="with --enable-channel-identification: 2 (two-channel audio sets it)"
    )
    _add_connection_options(t)
    _add_service_options(t)


def _add_presign(commands: argparse._SubParsersAction[_Parser]) -> None:
    """presign: a WebSocket URL for a browser."""
    p = commands.add_parser(
        "presign",
        help="print a presigned WebSocket URL (for a browser)",
        formatter_class=_Help,
        epilog="example:\n  streamscribe presign --language en-US --rate 16000 --expires 60",
    )
    p.add_argument("--language", default="en-US", help="language code")
    p.add_argument("--rate", type=_positive(int), default=16000, help="sample rate the page will send (Hz)")
    p.add_argument("--encoding", default="pcm", choices=["pcm", "flac", "ogg-opus"], help="media encoding")
    p.add_argument("--expires", type=int, default=300, help="seconds the URL stays valid, at most 300")
    p.add_argument("--region", default="us-east-1", help="AWS region")
    p.add_argument("--profile", help="credentials profile (~/.aws/credentials, ~/.aws/config)")
    p.add_argument("--endpoint", help="e.g. wss://127.0.0.1:8444 for a local endpoint")
    _add_service_options(p)


def _add_serve(commands: argparse._SubParsersAction[_Parser]) -> None:
    """serve: the local endpoint."""
    s = commands.add_parser(
        "serve",
        help="run the local endpoint",
        formatter_class=_Help,
        epilog="examples:\n  streamscribe serve --port 8443 --ws-port 8444 --ca-out ca.pem\n"
        "  streamscribe serve --no-tls --port 8080 --engine none --max-streams 200",
    )
    s.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (beyond loopback the page is off unless --page)"
    )
    s.add_argument("--port", type=_port, default=8443, help="HTTP/2 port (0 picks one)")
    s.add_argument("--ws-port", type=_port, default=8444, help="WebSocket, job API and page port (0 picks one)")
    tls = s.add_mutually_exclusive_group()
    tls.add_argument("--tls", choices=["self-signed"], default="self-signed", help="TLS with a CA minted at start")
    tls.add_argument("--tls-cert", help="certificate chain (PEM); needs --tls-key")
    tls.add_argument("--no-tls", action="store_true", help="h2c and ws:// (no TLS)")
    s.add_argument("--tls-key", help="private key (PEM) for --tls-cert")
    s.add_argument("--ca-out", help="write the self-signed CA here, for clients to trust")
    s.add_argument(
        "--credentials",
        action="append",
        metavar="AKID:SECRET",
        help="accepted key pair, repeatable (default: the development pair clients fall back to)",
    )
    s.add_argument(
        "--engine", choices=["pocketsphinx", "none"], default="pocketsphinx", help="recogniser (none: decode only)"
    )
    _add_serve_limits(s)
    s.add_argument("--region", help="only accept requests signed for this region (default: any region)")
    s.add_argument(
        "--workers",
        type=_positive(int),
        default=1,
        help="processes sharing the ports (SO_REUSEPORT); limits and jobs are per worker",
    )
    s.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)  # a worker of --workers
    s.add_argument(
        "--resources",
        help="JSON or YAML file: vocabularies, vocabulary filters, language models, Call Analytics categories, "
        "seeded jobs (docs/examples/resources.yaml); 'example' for the built-in examples",
    )
    page = s.add_mutually_exclusive_group()
    page.add_argument(
        "--page",
        dest="page",
        action="store_true",
        default=None,
        help="serve the browser page and /presign (default: on when --host is loopback, else off)",
    )
    page.add_argument(
        "--no-page", dest="page", action="store_false", default=None, help="serve neither, even on loopback"
    )
    s.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a web origin whose pages may open WebSockets here (repeatable)",
    )


def _add_serve_limits(s: _Parser) -> None:
    """serve: what the endpoint admits and keeps (its Limits table in the README)."""
    s.add_argument("--max-streams", type=_positive(int), default=25, help="concurrent streams (the 26th gets 429)")
    s.add_argument(
        "--idle-timeout",
        type=_positive(float),
        default=15.0,
        help="seconds without audio before 400; also a connection's time to its first request, and between them",
    )
    s.add_argument(
        "--max-connections",
        type=_positive(int),
        help="open connections, both ports together (default: 4 x --max-streams, at least 256, within the "
        "process's open-files limit)",
    )
    s.add_argument(
        "--max-post-call-jobs",
        type=_positive(int),
        default=256,
        help="post-call analytics jobs kept (the oldest is forgotten first; at most 64 MiB of them)",
    )
    s.add_argument(
        "--max-connections-per-client",
        type=_positive(int),
        help="open connections from one client address (default: --max-streams + 8, at least a quarter of the total)",
    )
    s.add_argument("--max-duration", type=_positive(float), default=4 * 3600.0, help="seconds a stream may last")


def _add_demo(commands: argparse._SubParsersAction[_Parser]) -> None:
    """demo: live captions from the bundled recording."""
    d = commands.add_parser("demo", help="live captions from a bundled recording through the local endpoint")
    d.add_argument("--speed", type=float, default=1.0, help="X times real time (default 1)")
    d.add_argument("--transport", choices=["http2", "websocket", "both"], default="both", help="which to show")


def _add_job(commands: argparse._SubParsersAction[_Parser]) -> None:
    """job: look up or wait for a job."""
    j = commands.add_parser(
        "job",
        help="look up or wait for a transcription, medical, call analytics or speaker enrollment job",
        formatter_class=_Help,
        epilog="examples:\n  streamscribe job get my-job\n"
        "  streamscribe job wait my-call --call-analytics --timeout 900\n"
        "  streamscribe job get 1a2b3c --speaker-enrollment --domain-id dom-1 --output json",
    )
    j.add_argument("action", choices=["get", "wait"], help="get: one look; wait: until it ends")
    j.add_argument("name", help="the job's name (Voice ID: its job id)")
    kind = j.add_mutually_exclusive_group()
    kind.add_argument("--medical", action="store_true", help="a medical transcription job")
    kind.add_argument("--call-analytics", action="store_true", help="a call analytics job")
    kind.add_argument("--speaker-enrollment", action="store_true", help="a Voice ID speaker enrollment job")
    j.add_argument("--domain-id", help="the Voice ID domain (with --speaker-enrollment)")
    j.add_argument(
        "--output",
        choices=["text", "json"],
        default="text",
        help="json: the service's response as the aws CLI prints it (wrapper key, ISO 8601 times)",
    )
    j.add_argument(
        "--exit-status",
        action="store_true",
        help="get: exit with the job's status (0 completed, 3 failed, 4 with errors, 5 running); wait always does",
    )
    j.add_argument("--timeout", type=_positive(float), default=3600.0, help="wait: seconds before giving up")
    j.add_argument("--region", default="us-east-1", help="AWS region")
    j.add_argument("--profile", help="credentials profile (~/.aws/credentials, ~/.aws/config)")
    j.add_argument("--endpoint", help="API endpoint URL, e.g. a local endpoint's http://127.0.0.1:8444")
    j.add_argument("--ca", help="CA file (PEM) to trust")
    for sub in commands.choices.values():  # as people type them: before or after the subcommand
        sub.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks and debug logs"
        )
        sub.add_argument("--version", action=_Version, help="show the version and exit")


class _Version(argparse.Action):
    """--version, read from the installed metadata only when asked (it costs start-up time)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(f"streamscribe {_version()}")
        parser.exit()


class _Parser(argparse.ArgumentParser):
    """A usage mistake is one line that says what and where to look, not a usage dump.
    (Subcommands' parsers are of this class too: argparse makes them with ``type(self)``.)"""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0..65535 (0 picks a free one), not {port}")
    return port


class _Help(argparse.RawDescriptionHelpFormatter):
    """Examples kept as written; every flag that has a default says it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if default in (None, False, [], argparse.SUPPRESS) or "default" in text or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def _positive(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be greater than 0, not {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _version() -> str:
    from importlib import metadata  # noqa: PLC0415

    try:
        return metadata.version("streamscribe")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def service_values(args: argparse.Namespace) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for param in PARAMETERS:
        if param.name in _SPECIAL:
            continue
        value = getattr(args, param.name, None)
        if value is not None:
            values[param.name] = _split(param, value)
    return values


def _split(param: Param, value: Any) -> Any:
    return [v.strip() for v in value.split(",")] if param.list_valued and isinstance(value, str) else value
