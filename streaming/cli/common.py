"""What every subcommand shares: the error a user sees, exit codes, notes, credentials and the CA check."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

    from sigv4 import Credentials

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_SERVICE",
    "EXIT_USAGE",
    "CliError",
    "check_ca",
    "credentials_from_args",
    "interrupt_promptly",
    "note",
]

# Exit statuses as the AWS CLI (v2) gives them, so scripts can tell failures apart.
EXIT_USAGE = 252  # the command line could not be used: a flag, a value, a combination
EXIT_CONFIG = 253  # the environment or configuration: credentials, a CA file, a missing extra
EXIT_SERVICE = 254  # a request was made and the service answered with an error
EXIT_FAILURE = 255  # anything else: the connection, the audio, a port in use
EXIT_INTERRUPTED = 130  # Ctrl-C


class CliError(Exception):
    """An error for the user: one line, with what to do; ``code`` the exit status."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def note(text: str) -> None:
    print(f"streamscribe: {text}", file=sys.stderr)


def credentials_from_args(args: argparse.Namespace, endpoint: str) -> Credentials:
    """The SDKs' chain (see streaming.proto.credentials); ``--debug`` says which were used."""
    from ..proto.credentials import credentials_for  # noqa: PLC0415

    found = credentials_for(endpoint, profile=args.profile)
    if args.debug:
        print(f"streamscribe: signing with {found.access_key_id} from {found.source or 'the caller'}", file=sys.stderr)
    return found


# -- presign ---------------------------------------------------------------------------------


def check_ca(path: str | None) -> None:
    if path is None:
        return
    import ssl  # noqa: PLC0415

    if Path(path).is_dir():
        raise CliError(
            f"--ca {path} is a directory; give the CA file (PEM) itself, e.g. the one serve --ca-out wrote", EXIT_CONFIG
        )
    if not Path(path).is_file():
        raise CliError(f"--ca {path}: no such file (a local endpoint writes its CA with serve --ca-out)", EXIT_CONFIG)
    try:
        ssl.create_default_context(cafile=path)
    except ssl.SSLError as exc:
        raise CliError(f"--ca {path} is not a PEM certificate: {exc.reason or exc}", EXIT_CONFIG) from exc


_INTERRUPT_GRACE = 10.0  # seconds Ctrl-C leaves the stream to close before the process just exits


def interrupt_promptly(loop: asyncio.AbstractEventLoop) -> None:
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
