"""``streamscribe serve``: one local endpoint, or several worker processes sharing its ports."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import EXIT_FAILURE, CliError

if TYPE_CHECKING:
    import asyncio

__all__ = ["serve"]


async def serve(args: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415 - only the commands that run a loop load it

    from sigv4 import Credentials  # noqa: PLC0415

    from ..local import LocalEndpoint  # noqa: PLC0415
    from ..proto.credentials import DEV_CREDENTIALS  # noqa: PLC0415

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
    resources = args.resources or None  # a path, or "example" for the built-in examples
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
            from ..local.server import listen_hint  # noqa: PLC0415

            raise CliError(f"{flag} {port} on {host}: {exc.strerror or exc}{listen_hint(exc)}", EXIT_FAILURE) from exc


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

    from ..local.resources import load_resources  # noqa: PLC0415
    from ..local.server import is_loopback  # noqa: PLC0415
    from ..local.tls import mint_self_signed  # noqa: PLC0415

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
    argv = _worker_argv(args, ports, tls)
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
            raise CliError("a worker did not start (its error is above)", EXIT_FAILURE)
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
            raise CliError("a worker exited; stopping the others", EXIT_FAILURE)
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


def _worker_argv(args: argparse.Namespace, ports: list[int], tls: list[str]) -> list[str]:
    """A worker's command line: this one's options, on the ports the parent checked or reserved."""
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
    return argv
