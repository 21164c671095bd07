"""The ``streamscribe`` command: parse, run the subcommand (its modules load only when it runs), report.

Errors are one line (what, why, what to do) and a non-zero exit; ``--debug`` shows the
traceback. Every command has ``--help`` with examples.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from .common import EXIT_CONFIG, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_SERVICE, EXIT_USAGE, CliError
from .parser import build_parser

if TYPE_CHECKING:
    pass

__all__ = ["main", "run"]

_LOCAL_EXTRA = frozenset({"aiohttp", "pocketsphinx", "av", "cryptography"})
_HEADER_LOGGERS = ("hpack", "h2", "websockets", "aiohttp.access", "asyncio")
_REQUEST_LOGGERS = ("httpx", "httpcore")


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
        # The client's own warnings (a damaged file) are said by the command in its words.
        logging.getLogger("streaming.stream").setLevel(logging.ERROR)
    try:
        if args.command == "serve":
            from .serve import serve  # noqa: PLC0415 - each subcommand loads what it needs, when it runs

            return run(serve(args))
        if args.command == "presign":
            from .transcribe import presign  # noqa: PLC0415

            print(presign(args))
            return 0
        if args.command == "demo":
            from .demo import run_demo  # noqa: PLC0415

            return run(run_demo(speed=args.speed, transport=args.transport))
        if args.command == "job":
            from .job import job  # noqa: PLC0415

            return job(args)
        from .transcribe import transcribe  # noqa: PLC0415

        return run(transcribe(args))
    except KeyboardInterrupt:
        if args.command not in ("serve", "demo"):
            print("streamscribe: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except _cancelled():  # Ctrl-C through _interrupt_promptly: the command's task was cancelled
        print("streamscribe: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
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
            return EXIT_CONFIG
        raise
    except Exception as exc:  # every failure ends as one line, unless --debug
        if args.debug:
            traceback.print_exc()
        from .display import printable  # noqa: PLC0415 - a service's message must not drive the terminal

        print(f"streamscribe: {printable(_explain(exc))}", file=sys.stderr)
        return exit_status(exc)


def exit_status(exc: BaseException) -> int:
    """The exit status for a failure, as the AWS CLI gives them (see ``cli.common``)."""
    from ..proto import errors  # noqa: PLC0415

    if isinstance(exc, CliError):
        return exc.code
    if isinstance(exc, errors.ParameterError):
        return EXIT_USAGE
    if isinstance(exc, errors.ServiceError):
        return EXIT_SERVICE
    if isinstance(exc, errors.CredentialsError) or exc.__class__.__module__.startswith("sigv4"):
        return EXIT_CONFIG
    return EXIT_FAILURE


def _cancelled() -> type[BaseException]:
    """asyncio's CancelledError when asyncio was loaded (a command ran a loop), else a
    class nothing raises: the command line does not load asyncio to catch it."""
    asyncio = sys.modules.get("asyncio")
    return asyncio.CancelledError if asyncio is not None else _NeverRaised


class _NeverRaised(BaseException):
    pass


def run(coroutine: Any) -> int:
    import asyncio  # noqa: PLC0415 - only the commands that run a loop load it

    return int(asyncio.run(coroutine) or 0)


def _explain(exc: BaseException) -> str:
    from ..proto import errors  # noqa: PLC0415

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
    if isinstance(exc, errors.ConnectError) and exc.kind in _KIND_HINTS:
        # The library's message ends with its hint in Python terms; say it in flags.
        return f"{exc.detail}. {_KIND_HINTS[exc.kind]}"
    if isinstance(exc, errors.ConnectError):
        return f"{text.rstrip('.')}. {_connect_hint(exc)}"
    if isinstance(exc, errors.TransportError):
        return f"connection problem: {text}"
    if isinstance(exc, errors.ProtocolError):
        return f"protocol problem: {text}"
    if isinstance(exc, errors.AudioFormatError | errors.AudioSourceError):
        return f"audio problem: {text}"
    if isinstance(exc, errors.CredentialsError) or exc.__class__.__module__.startswith("sigv4"):
        return f"credentials problem: {text}"
    if isinstance(exc, OSError):
        return f"{exc.strerror or text}: {getattr(exc, 'filename', '') or ''}".rstrip(": ")
    return f"{type(exc).__name__}: {text} (run with --debug for details)"


_KIND_HINTS: Final = {
    "untrusted": "Pass the endpoint's CA with --ca (streamscribe serve --ca-out writes it).",
    "not-tls": "That port has no TLS: use http:// (HTTP/2) or ws:// (WebSocket).",
    "tls-only": "If that port has TLS, use https:// (HTTP/2) or wss:// (WebSocket), with --ca for a local endpoint.",
}


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
