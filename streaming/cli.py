"""The ``streamscribe`` command line: transcribe, presign, serve, demo.

Errors are one line (what, why, what to do) and a non-zero exit; ``--debug`` shows the
traceback. Every command has ``--help`` with examples.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import logging
import os
import signal
import socket
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from .params import PARAMETERS, Param

if TYPE_CHECKING:
    import asyncio

    from sigv4 import Credentials

__all__ = ["build_parser", "main"]

_LOCAL_EXTRA = frozenset({"aiohttp", "pocketsphinx", "av", "cryptography"})
_HEADER_LOGGERS = ("hpack", "h2", "websockets", "aiohttp.access", "asyncio")
_REQUEST_LOGGERS = ("httpx", "httpcore")

EXIT_USAGE = 2
EXIT_FAILURE = 1

# Parameters that have a flag of their own or come from the audio.
_SPECIAL = {
    "language_code", "media_sample_rate_hz", "media_encoding", "identify_language",
    "language_options", "identify_multiple_languages", "specialty", "type", "number_of_channels",
}  # fmt: skip


def _add_service_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("service options (as the API names them)")
    for param in PARAMETERS:
        if param.name in _SPECIAL:
            continue
        flag = f"--{param.wire}"
        if param.kind is bool:
            group.add_argument(flag, dest=param.name, action="store_true", default=None, help=f"set {param.name}")
        elif param.kind is int:
            group.add_argument(flag, dest=param.name, type=int, metavar="N", help=f"{param.name}")
        else:
            choices = f" ({', '.join(sorted(param.choices))})" if param.choices and not param.list_valued else ""
            metavar = "A,B,..." if param.list_valued else "VALUE"
            group.add_argument(flag, dest=param.name, metavar=metavar, help=f"{param.name}{choices}")


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
        choices=["text", "jsonl", "srt", "vtt"],
        help="what to write (default: from the -o file's suffix, else text)",
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
    s.add_argument("--region", help="only accept requests signed for this region (default: any region)")
    s.add_argument(
        "--workers",
        type=_positive(int),
        default=1,
        help="processes sharing the ports (SO_REUSEPORT); limits and jobs are per worker",
    )
    s.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)  # a worker of --workers

    d = commands.add_parser("demo", help="live captions from a bundled recording through the local endpoint")
    d.add_argument("--speed", type=float, default=1.0, help="X times real time (default 1)")
    d.add_argument("--transport", choices=["http2", "websocket", "both"], default="both", help="which to show")
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
    return parser


class CliError(Exception):
    """An error for the user: one line, with what to do."""


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


@functools.cache
def _version() -> str:
    from importlib import metadata  # noqa: PLC0415

    try:
        return metadata.version("streamscribe")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _service_values(args: argparse.Namespace) -> dict[str, Any]:
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(name)s %(message)s" if args.debug else "%(message)s",
        stream=sys.stderr,
    )
    for noisy in _HEADER_LOGGERS:  # they log request headers: signatures, session tokens
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not args.debug:  # a line per HTTP request is for --debug, not a normal run
        for chatty in _REQUEST_LOGGERS:
            logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        if args.command == "serve":
            return _run(_serve(args))
        if args.command == "presign":
            print(_presign(args))
            return 0
        if args.command == "demo":
            from .demo import run_demo  # noqa: PLC0415

            return _run(run_demo(speed=args.speed, transport=args.transport))
        if args.command == "job":
            return _job(args)
        return _run(_transcribe(args))
    except KeyboardInterrupt:
        if args.command not in ("serve", "demo"):
            print("streamscribe: interrupted", file=sys.stderr)
        return 130
    except _cancelled():  # Ctrl-C through _interrupt_promptly: the command's task was cancelled
        print("streamscribe: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `| head -1` closed our output: that is what the user wanted
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in _LOCAL_EXTRA:
            print(
                f"streamscribe: {args.command} needs the local endpoint's extra ({exc.name} is missing): "
                "pip install 'streamscribe[local]'",
                file=sys.stderr,
            )
            return EXIT_FAILURE
        raise
    except Exception as exc:  # every failure ends as one line, unless --debug
        if args.debug:
            traceback.print_exc()
        from .display import printable  # noqa: PLC0415 - a service's message must not drive the terminal

        print(f"streamscribe: {printable(_explain(exc))}", file=sys.stderr)
        return EXIT_FAILURE


def _cancelled() -> type[BaseException]:
    """asyncio's CancelledError when asyncio was loaded (a command ran a loop), else a
    class nothing raises: the command line does not load asyncio to catch it."""
    asyncio = sys.modules.get("asyncio")
    return asyncio.CancelledError if asyncio is not None else _NeverRaised


class _NeverRaised(BaseException):
    pass


def _run(coroutine: Any) -> int:
    import asyncio  # noqa: PLC0415 - only the commands that run a loop load it

    return int(asyncio.run(coroutine) or 0)


def _explain(exc: BaseException) -> str:
    from . import errors  # noqa: PLC0415
    from .audio import AudioFormatError  # noqa: PLC0415

    text = str(exc) or type(exc).__name__
    if isinstance(exc, CliError):
        return text
    if isinstance(exc, errors.ParameterError):
        return f"invalid parameter: {text} (see --help)"
    if isinstance(exc, errors.UnrecognizedClientException | errors.InvalidSignatureException):
        return (
            f"the service refused the credentials: {text.rstrip('.')}. Check --profile / AWS_PROFILE / "
            "AWS_ACCESS_KEY_ID (--debug shows which were used) or the endpoint's --credentials."
        )
    if isinstance(exc, errors.ServiceError):
        return f"the service said {text}"
    if isinstance(exc, errors.ConnectError):
        return f"{text.rstrip('.')}. {_connect_hint(exc)}"
    if isinstance(exc, errors.TransportError):
        return f"connection problem: {text}"
    if isinstance(exc, errors.ProtocolError):
        return f"protocol problem: {text}"
    if isinstance(exc, AudioFormatError | errors.AudioSourceError):
        return f"audio problem: {text}"
    if isinstance(exc, errors.CredentialsError) or exc.__class__.__module__.startswith("sigv4"):
        return f"credentials problem: {text}"
    if isinstance(exc, OSError):
        return f"{exc.strerror or text}: {getattr(exc, 'filename', '') or ''}".rstrip(": ")
    return f"{type(exc).__name__}: {text} (run with --debug for details)"


def _connect_hint(exc: BaseException) -> str:
    """What to check after a failed connection: a local endpoint's address and CA, or the
    network and region for the service (a CA flag does not fix a name lookup)."""
    text = str(exc)
    if isinstance(exc.__cause__, socket.gaierror) or "name resolution" in text or "Name or service" in text:
        return "The host name did not resolve: check the network, --region and --endpoint."
    if ".amazonaws.com" in text:
        return "Check the network, --region and --endpoint."
    return "Is the endpoint running and the address right? For a local TLS endpoint pass --ca."


# -- serve -----------------------------------------------------------------------------------


async def _serve(args: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415 - only the commands that run a loop load it

    from sigv4 import Credentials  # noqa: PLC0415

    from .credentials import DEV_CREDENTIALS  # noqa: PLC0415
    from .local import LocalEndpoint  # noqa: PLC0415

    credentials = []
    for number, pair in enumerate(args.credentials or [], 1):
        akid, sep, secret = pair.partition(":")
        if not sep or not akid or not secret:
            raise CliError(
                f"--credentials (the {_ordinal(number)} one) must be AKID:SECRET; "
                "its value is not shown here, as it may hold a secret"
            )
        credentials.append(Credentials(akid, secret))
    if args.no_tls and args.ca_out:
        raise CliError("--ca-out writes the CA of a TLS endpoint; with --no-tls there is none (drop one of them)")
    if args.tls_key and not args.tls_cert:
        raise CliError("--tls-key needs --tls-cert")
    if args.port and args.port == args.ws_port:
        raise CliError(f"--port and --ws-port must differ (both are {args.port})")
    if args.workers > 1:
        return await _serve_workers(args)
    tls: Any = "none" if args.no_tls else args.tls
    resources = Path(args.resources) if args.resources else None
    if args.tls_cert:
        if not args.tls_key:
            raise CliError("--tls-cert needs --tls-key")
        tls = (Path(args.tls_cert), Path(args.tls_key))
    endpoint = LocalEndpoint(
        host=args.host,
        port=args.port,
        ws_port=args.ws_port,
        tls=tls,
        ca_out=Path(args.ca_out) if args.ca_out else None,
        credentials=credentials or (DEV_CREDENTIALS,),
        engine=args.engine,
        max_streams=args.max_streams,
        idle_timeout=args.idle_timeout,
        max_duration=args.max_duration,
        region=args.region,
        resources=resources,
        page=args.page,
        allowed_origins=args.allow_origin,
        reuse_port=args.reuse_port,
        max_connections=args.max_connections,
        max_connections_per_client=args.max_connections_per_client,
        max_post_call_jobs=args.max_post_call_jobs,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if args.reuse_port:  # a worker of --workers: it ends with its parent (stdin closes)
        _stop_when_stdin_closes(loop, stop)
    async with endpoint:
        print(endpoint.listening_line(), flush=True)
        if endpoint.websocket_url and endpoint.page_enabled and not args.reuse_port:
            logging.getLogger("streamscribe.local").info("browser page: %s/", endpoint.http_url)
        await stop.wait()
    return 0


_INTERRUPT_GRACE = 10.0  # seconds Ctrl-C leaves the stream to close before the process just exits


def _interrupt_promptly(loop: asyncio.AbstractEventLoop) -> None:
    """Ctrl-C cancels the command (what was heard is printed, the connection closed); if
    closing takes longer than a few seconds, or on a second Ctrl-C, the process exits at
    once with 130. The loop's own handler is used: it wakes the loop through its signal
    pipe whichever thread the signal lands on (a stdin reader's, say)."""
    import asyncio  # noqa: PLC0415

    task = asyncio.current_task()
    pressed = False

    def interrupt() -> None:
        nonlocal pressed
        if pressed or task is None:
            os._exit(130)  # the second Ctrl-C: no more waiting
        pressed = True
        task.cancel()
        loop.call_later(_INTERRUPT_GRACE, lambda: (print("streamscribe: interrupted", file=sys.stderr), os._exit(130)))

    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
        loop.add_signal_handler(signal.SIGINT, interrupt)


def _stop_when_stdin_closes(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """A worker's stdin is a pipe from its parent: end of file means the parent is gone
    (even killed with SIGKILL), and the worker must not serve on, holding the ports."""
    fd = sys.stdin.fileno()

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
            stop.set()

    loop.add_reader(fd, readable)


def _check_port_free(host: str, port: int, flag: str) -> None:
    """Fail as a single endpoint does when ``port`` is taken, even by another --workers
    endpoint: its sockets use SO_REUSEPORT, so a second one would silently join it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CliError(f"{flag} {port} on {host}: {exc.strerror or exc} (another endpoint serves it?)") from exc


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _reserve_port(host: str) -> socket.socket:
    """A port no one else can take while the workers start: bound with SO_REUSEPORT, not listening."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    holder = socket.socket(family, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind((host, 0))
    return holder


async def _serve_workers(args: argparse.Namespace) -> int:
    """``serve --workers N``: N endpoint processes share the ports; the kernel spreads connections.

    One certificate serves them all (clients trust one CA). Each worker has its own limits
    and its own job store, so a post-call job is known to the worker that ran its stream.
    """
    import asyncio  # noqa: PLC0415 - only the commands that run a loop load it

    from .local.resources import load_resources  # noqa: PLC0415
    from .local.server import is_loopback  # noqa: PLC0415
    from .local.tls import mint_self_signed  # noqa: PLC0415

    if args.resources:
        load_resources(args.resources)  # a mistake in the file is one error here, not one per worker

    # Before anything is announced: Ctrl-C or SIGTERM right after the listening line stops
    # the workers and exits 0, as a single endpoint does.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    holders: list[socket.socket] = []
    ports = []
    for wanted, flag in ((args.port, "--port"), (args.ws_port, "--ws-port")):
        if wanted == 0:
            holders.append(_reserve_port(args.host))
        else:
            _check_port_free(args.host, wanted, flag)
        ports.append(holders[-1].getsockname()[1] if wanted == 0 else wanted)
    if args.no_tls:
        tls = ["--no-tls"]
    elif args.tls_cert:
        tls = ["--tls-cert", args.tls_cert, "--tls-key", args.tls_key or ""]
    else:
        minted = mint_self_signed()
        tls = ["--tls-cert", str(minted.cert_file), "--tls-key", str(minted.key_file)]
    argv = [sys.executable, "-m", "streaming.cli", "serve", "--reuse-port", "--host", args.host]
    argv += ["--port", str(ports[0]), "--ws-port", str(ports[1]), *tls, "--engine", args.engine]
    argv += ["--max-streams", str(args.max_streams), "--idle-timeout", str(args.idle_timeout)]
    argv += ["--max-duration", str(args.max_duration)]
    for flag, value in (
        ("--region", args.region),
        ("--resources", args.resources),
        ("--max-connections", args.max_connections),
        ("--max-connections-per-client", args.max_connections_per_client),
        ("--max-post-call-jobs", args.max_post_call_jobs),
    ):
        if value:
            argv += [flag, str(value)]
    for pair in args.credentials or []:
        argv += ["--credentials", pair]
    for origin in args.allow_origin:
        argv += ["--allow-origin", origin]
    if args.page is not None:
        argv.append("--page" if args.page else "--no-page")
    workers = [
        await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        for _ in range(args.workers)
    ]
    try:
        lines = []
        for worker in workers:
            assert worker.stdout is not None
            try:
                lines.append((await asyncio.wait_for(worker.stdout.readline(), 60)).decode().strip())
            except TimeoutError:
                lines.append("")
        for holder in holders:
            holder.close()
        if stop.is_set():
            return 0  # stopped while starting (the workers got the same Ctrl-C)
        if not all(line.startswith("listening") for line in lines):
            raise CliError("a worker did not start (its error is above)")
        if args.ca_out and not args.no_tls and not args.tls_cert:
            Path(args.ca_out).write_bytes(minted.ca_file.read_bytes())
        print(f"{lines[0]} workers={args.workers}", flush=True)
        page_on = args.page if args.page is not None else is_loopback(args.host)
        if page_on and " websocket=" in lines[0]:
            web = lines[0].split(" websocket=", 1)[1].split()[0].replace("ws", "http", 1)
            logging.getLogger("streamscribe.local").info("browser page: %s/", web)
        ended = [asyncio.ensure_future(w.wait()) for w in workers]
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait([stopping, *ended], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not stop.is_set():
            raise CliError("a worker exited; stopping the others")
        return 0
    finally:
        for holder in holders:
            holder.close()
        for worker in workers:
            if worker.returncode is None:
                worker.terminate()
        for worker in workers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(worker.wait(), 10)


# -- jobs --------------------------------------------------------------------------------------

# Exit codes of `job get` / `job wait` by the job's status: scripts can branch on them.
_JOB_EXIT = {"COMPLETED": 0, "FAILED": 3, "COMPLETED_WITH_ERRORS": 4}
_JOB_RUNNING_EXIT = 5  # get: still QUEUED / IN_PROGRESS / SUBMITTED
_JOB_TIMEOUT_EXIT = 6  # wait: still running at --timeout


def _job(args: argparse.Namespace) -> int:
    import json  # noqa: PLC0415

    from .jobs import BlockingJobsClient, Job, JobFailedError, JobWaitTimeout, default_jobs_endpoint  # noqa: PLC0415

    if args.speaker_enrollment and not args.domain_id:
        raise CliError("--speaker-enrollment needs --domain-id (the Voice ID domain)")
    if args.domain_id and not args.speaker_enrollment:
        raise CliError("--domain-id is for --speaker-enrollment jobs")
    _check_ca(args.ca)
    service = "voiceid" if args.speaker_enrollment else "transcribe"
    endpoint = args.endpoint or default_jobs_endpoint(service, args.region)
    from .endpoints import check_endpoint, check_region  # noqa: PLC0415

    check_region(args.region)
    check_endpoint(endpoint, "api")
    credentials = _credentials(args, endpoint)
    tty = sys.stderr.isatty()

    def progress(job: Any) -> None:
        if tty:
            percent = getattr(getattr(job, "job_progress", None), "percent_complete", None)
            extra = f" {percent}%" if percent is not None else ""
            print(f"\r\x1b[K{job.name}: {job.raw_status}{extra}", end="", file=sys.stderr, flush=True)

    get: Callable[..., Job]
    wait: Callable[..., Job]
    with BlockingJobsClient(args.region, credentials, endpoint=endpoint, ca_file=args.ca) as client:
        ids: tuple[str, ...] = (args.name,)
        if args.speaker_enrollment:
            ids = (args.domain_id, args.name)
            get, wait = client.describe_speaker_enrollment_job, client.wait_for_speaker_enrollment_job
        elif args.medical:
            get, wait = client.get_medical_transcription_job, client.wait_for_medical_transcription_job
        elif args.call_analytics:
            get, wait = client.get_call_analytics_job, client.wait_for_call_analytics_job
        else:
            get, wait = client.get_transcription_job, client.wait_for_transcription_job
        timed_out = False
        job: Job
        try:
            job = get(*ids) if args.action == "get" else wait(*ids, timeout=args.timeout, progress=progress)
        except JobFailedError as exc:
            job = exc.job
        except JobWaitTimeout as exc:
            job, timed_out = exc.job, True
        finally:
            if tty and args.action == "wait":
                print("\r\x1b[K", end="", file=sys.stderr, flush=True)
    if args.output == "json":
        print(json.dumps({_response_key(job): _cli_document(job)}, indent=4))
    else:
        print(_job_text(job))
    if timed_out:
        _note(f"still {job.raw_status} after {args.timeout:g} s")
        return _JOB_TIMEOUT_EXIT
    if args.action == "get" and not args.exit_status:
        return 0  # the call succeeded; the job's status is in what was printed
    return _JOB_EXIT.get(job.raw_status or "", _JOB_RUNNING_EXIT)


def _response_key(job: Any) -> str:
    """The member the service's Get/Describe response wraps the job in."""
    name = type(job).__name__
    return "Job" if name == "SpeakerEnrollmentJob" else name


def _cli_document(job: Any) -> Any:
    """The job as the aws CLI (v2) prints it: wire names, fields the model does not know
    kept, and timestamps (epoch seconds on the wire) in ISO 8601 with their UTC offset."""
    import datetime as dt  # noqa: PLC0415

    import msgspec  # noqa: PLC0415

    def convert(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.isoformat()
        if isinstance(value, dict):
            extra = value.pop("__extra_fields__", None) or {}
            return {k: convert(v) for k, v in {**value, **extra}.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return convert(msgspec.to_builtins(job, builtin_types=(dt.datetime,)))


def _job_text(job: Any) -> str:
    lines = [f"{job.name}: {job.raw_status}"]
    for label, value in (
        ("failure", job.failure),
        ("language", getattr(job, "language_code", None)),
        ("transcript", getattr(getattr(job, "transcript", None), "transcript_file_uri", None)),
        ("redacted transcript", getattr(getattr(job, "transcript", None), "redacted_transcript_file_uri", None)),
        ("created", getattr(job, "creation_time", None) or getattr(job, "created_at", None)),
        ("completed", getattr(job, "completion_time", None) or getattr(job, "ended_at", None)),
        ("progress", getattr(getattr(job, "job_progress", None), "percent_complete", None)),
    ):
        if value is not None:
            lines.append(f"  {label}: {value}")
    return "\n".join(lines)


# -- credentials -----------------------------------------------------------------------------


def _credentials(args: argparse.Namespace, endpoint: str) -> Credentials:
    """The SDKs' chain (see streaming.credentials); ``--debug`` says which were used."""
    from .credentials import credentials_for  # noqa: PLC0415

    found = credentials_for(endpoint, profile=args.profile)
    if args.debug:
        print(f"streamscribe: signing with {found.access_key_id} from {found.source or 'the caller'}", file=sys.stderr)
    return found


# -- presign ---------------------------------------------------------------------------------


def _presign(args: argparse.Namespace) -> str:
    from .client import presign_websocket_url  # noqa: PLC0415
    from .endpoints import check_endpoint, check_region  # noqa: PLC0415
    from .session import default_endpoint  # noqa: PLC0415

    check_region(args.region)
    credentials = _credentials(
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
        **_service_values(args),
    )


# -- transcribe ------------------------------------------------------------------------------

_SUFFIXES = {".srt": "srt", ".vtt": "vtt", ".jsonl": "jsonl", ".txt": "text"}
_KEEPALIVE = 2.0  # seconds a live PCM source may stall before silence keeps the stream open


def _note(text: str) -> None:
    print(f"streamscribe: {text}", file=sys.stderr)


def _source(args: argparse.Namespace) -> Any:
    from .audio import AudioSource, MicrophoneSource, open_audio, open_stream  # noqa: PLC0415

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
            _note("two channels: channel 0 is the AGENT, channel 1 the CUSTOMER (--channel-roles to change)")
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
            _note("two channels: each is transcribed apart (channel identification, ch_0 and ch_1)")
        values["enable_channel_identification"] = True
        values["number_of_channels"] = 2
    elif args.number_of_channels is not None:
        values["number_of_channels"] = args.number_of_channels
    return None


def _open_stream(client: Any, args: argparse.Namespace, source: Any) -> Any:
    common = {"media_sample_rate_hz": source.sample_rate, "media_encoding": source.media_encoding}
    values = _service_values(args)
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
    from urllib.parse import urlsplit  # noqa: PLC0415

    try:
        scheme = urlsplit(args.endpoint).scheme if args.endpoint else ""
    except ValueError as exc:
        raise CliError(f"--endpoint {args.endpoint!r} is not a URL: {exc}") from exc
    inferred: Literal["http2", "websocket"] = "websocket" if scheme in ("ws", "wss") else "http2"
    if args.transport is None:
        return inferred
    if scheme and args.transport != inferred:
        wanted = "wss:// (or ws://)" if args.transport == "websocket" else "https:// (or http://)"
        raise CliError(
            f"--transport {args.transport} needs a {wanted} endpoint, but --endpoint is {args.endpoint}; "
            "change one of them (or drop --transport: the scheme decides)"
        )
    return "websocket" if args.transport == "websocket" else "http2"


def _check_ca(path: str | None) -> None:
    if path is None:
        return
    import ssl  # noqa: PLC0415

    if Path(path).is_dir():
        raise CliError(f"--ca {path} is a directory; give the CA file (PEM) itself, e.g. the one serve --ca-out wrote")
    if not Path(path).is_file():
        raise CliError(f"--ca {path}: no such file (a local endpoint writes its CA with serve --ca-out)")
    try:
        ssl.create_default_context(cafile=path)
    except ssl.SSLError as exc:
        raise CliError(f"--ca {path} is not a PEM certificate: {exc.reason or exc}") from exc


def _output_mode(args: argparse.Namespace) -> str:
    """--output, else what the -o file's suffix says (checked before connecting)."""
    if args.output is not None or args.output_file is None:
        return str(args.output or "text")
    suffix = Path(args.output_file).suffix.lower()
    if suffix == ".json":
        raise CliError(
            f"-o {args.output_file}: streamscribe writes JSON Lines (one result per line, not one JSON document); "
            "name the file .jsonl, or pass --output jsonl to write them there anyway"
        )
    return _SUFFIXES.get(suffix, "text")


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
    from .credentials import is_local_endpoint  # noqa: PLC0415

    languages = [args.language] if args.language else []
    for option in (args.identify_language, args.identify_multiple_languages):
        if option:
            languages += option.split(",")
    if is_local_endpoint(endpoint) and any(not lang.strip().lower().startswith("en") for lang in languages):
        _note("the local endpoint recognises English only; other languages come back as English words")


async def _transcribe(args: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415 - only the commands that run a loop load it

    from .audio import AsyncByteSource, MicrophoneSource  # noqa: PLC0415
    from .client import TranscribeStreamingClient  # noqa: PLC0415
    from .endpoints import check_endpoint, check_region  # noqa: PLC0415
    from .session import default_endpoint  # noqa: PLC0415

    _interrupt_promptly(asyncio.get_running_loop())
    if args.medical and args.call_analytics:
        raise CliError("choose one of --medical and --call-analytics")
    for flag, value in (("--specialty", args.specialty), ("--type", args.medical_type)):
        if value is not None and not args.medical:
            raise CliError(f"{flag} is for --medical streams (StartMedicalStreamTranscription); add --medical")
    transport = _transport(args)
    check_region(args.region)  # flags first: a bad endpoint must not look like a credentials problem
    endpoint = check_endpoint(args.endpoint or default_endpoint(args.region, transport), transport)
    _check_ca(args.ca)
    mode = _output_mode(args)
    source = _source(args)
    credentials = _credentials(args, endpoint)
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
            printer.finish(stream.stats)
    except BaseException:  # an error or Ctrl-C: what was recognised is kept, then the error line
        for printer in printers:
            printer.abandon()
        raise
    finally:
        if file is not None:
            file.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
