"""Scale: N concurrent real-time streams, ours and the official SDK side by side.

One run prints one table. The local endpoint (``serve --engine none``: it verifies every
signature and decodes all audio, but recognises nothing) runs in its own processes
(``--workers``) and each client run in its own process, pinned to separate cores where the
machine has them, so each process's CPU is its own. For N = 10, 100, 300 and 1000 streams
over TLS, each implementation and transport reports: client CPU per stream-second (whole
process, every thread), resident memory per stream, lateness of each 100 ms frame against
the real-time schedule (p50 / p99 / max), failed streams, and the endpoint's CPU per
stream-second. Then the cost of one open stream that sends nothing.

Settings (environment): ``SCALE_STREAMS`` (default ``10,100,300,1000``), ``SCALE_SECONDS``
(default 15), ``SCALE_WORKERS`` (endpoint processes; default: the cores left after the
client's, at least 1), ``SCALE_ENDPOINT_TREE`` (serve from another checkout, e.g. a git
worktree of an older commit, to compare endpoints), ``SCALE_IMPLEMENTATIONS`` (a subset,
e.g. ``streamscribe/http2``; ``streamscribe+uvloop`` rows run ours on uvloop when it is
installed).
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import breakdown
from ._harness import FRAME_SECONDS, calibration

IMPLEMENTATIONS = (
    ("streamscribe", "http2"),
    ("streamscribe", "websocket"),
    ("streamscribe+uvloop", "http2"),  # ours on uvloop, when it is installed (the fast extra)
    ("streamscribe+uvloop", "websocket"),
    ("amazon-transcribe", "http2"),  # the official Python SDK has no WebSocket transport
)
TICKS = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (the endpoint's workers), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _tree_cpu(root: int) -> float:
    """CPU seconds of a process and its children."""
    total = 0.0
    for pid in (root, *_children(root)):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def _pin(pid: int, cores: set[int]) -> None:
    if hasattr(os, "sched_setaffinity") and cores:
        for process in (pid, *_children(pid)):
            os.sched_setaffinity(process, cores)


def _client(
    impl: str,
    transport: str,
    streams: int,
    seconds: float,
    url: str,
    env: dict[str, str],
    core: set[int],
    endpoint: int,
) -> dict[str, object]:
    base, _, loop = impl.partition("+")
    argv = [sys.executable, "-m", "benchmarks.scale_client", base, transport, str(streams), str(seconds), url]
    env = {**env, "SCALE_LOOP": loop or "asyncio"}
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _pin(process.pid, core)
    deadline = time.monotonic() + seconds * 4 + 180
    assert process.stdout is not None
    server_cpu_start = None
    result: dict[str, object] = {}
    try:
        for line in process.stdout:
            if line.strip() == "connected":
                server_cpu_start = _tree_cpu(endpoint)
            elif line.startswith("{"):
                result = json.loads(line)
                if server_cpu_start is not None and "cpu_ms_per_stream_second" in result:
                    result["endpoint_ms_per_stream_second"] = (
                        (_tree_cpu(endpoint) - server_cpu_start) * 1000 / (streams * seconds)
                    )
            if time.monotonic() > deadline:
                break
        process.wait(timeout=max(deadline - time.monotonic(), 1))
    except subprocess.TimeoutExpired:
        process.kill()
        return {"error": "timed out"}
    if not result:
        error = (process.stderr.read() if process.stderr else "").strip().splitlines()
        return {"error": error[-1] if error else f"exit {process.returncode}"}
    return result


def main() -> None:
    counts = [int(n) for n in os.environ.get("SCALE_STREAMS", "10,100,300,1000").split(",")]
    seconds = float(os.environ.get("SCALE_SECONDS", "15"))
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    client_core = {cores[0]}
    endpoint_cores = set(cores[1:]) or client_core
    workers = int(os.environ.get("SCALE_WORKERS", str(max(len(endpoint_cores), 1))))
    with tempfile.TemporaryDirectory() as tmp:
        ca = Path(tmp) / "ca.pem"
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "streaming.cli", "serve", "--port", "0", "--ws-port", "0", "--ca-out", str(ca)),
                *("--engine", "none", "--max-streams", "2000", "--idle-timeout", "120"),
                *(("--workers", str(workers)) if workers > 1 else ()),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            # SCALE_ENDPOINT_TREE: serve from another checkout (an older endpoint, for a before/after)
            cwd=os.environ.get("SCALE_ENDPOINT_TREE"),
            env={
                **os.environ,
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": os.environ.get("SCALE_ENDPOINT_TREE", os.environ.get("PYTHONPATH", "")),
            },
        )
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            urls = dict(part.split("=", 1) for part in line.split()[1:3])
            _pin(server.pid, endpoint_cores)
            env = {**os.environ, "SSL_CERT_FILE": str(ca), "AWS_EC2_METADATA_DISABLED": "true"}
            print("\n## scale: concurrent real-time streams (python -m benchmarks scale)\n")
            print(calibration())
            found = breakdown.floors()
            floor = found.floor * 1000 / FRAME_SECONDS  # ms of CPU per stream-second
            paced = found.paced_floor * 1000 / FRAME_SECONDS
            print(
                f"floor (encode + sign + TLS write of each frame, tight loop; python -m benchmarks breakdown): "
                f"{floor:.3f} ms per stream-second; paced floor ({found.paced_streams} sockets in real time): "
                f"{paced:.3f} ms"
            )
            print(
                f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; client pinned to core "
                f"{cores[0]}, endpoint ({workers} worker{'s' * (workers > 1)}, --engine none, TLS) to "
                f"{sorted(endpoint_cores)}; 100 ms PCM frames for {seconds:g} s\n"
            )
            print(
                "| streams | implementation | transport | client CPU ms per stream-s (x floor, x paced floor) "
                "| RSS MiB per stream "
                "| of which replay audio | lateness p50 / p99 / max ms | failed | endpoint CPU ms per stream-s |"
            )
            print("|---|---|---|---|---|---|---|---|---|")
            chosen = os.environ.get("SCALE_IMPLEMENTATIONS")
            has_uvloop = importlib.util.find_spec("uvloop") is not None
            implementations = [
                (impl, transport)
                for impl, transport in IMPLEMENTATIONS
                if (not chosen or f"{impl}/{transport}" in chosen.split(",")) and (has_uvloop or "uvloop" not in impl)
            ]
            for n in counts:
                for impl, transport in implementations:
                    url = urls["http2"] if transport == "http2" else urls["websocket"]
                    r = _client(impl, transport, n, seconds, url, env, client_core, server.pid)
                    if "error" in r:
                        print(f"| {n} | {impl} | {transport} | failed: {r['error']} | | | | | |", flush=True)
                        continue
                    late = " / ".join(f"{v:.1f}" for v in r["lateness_ms"])  # type: ignore[attr-defined]
                    print(
                        f"| {n} | {impl} | {transport} | {r['cpu_ms_per_stream_second']:.3f} "
                        f"({r['cpu_ms_per_stream_second'] / floor:.1f}x, {r['cpu_ms_per_stream_second'] / paced:.1f}x) "
                        f"| {r['rss_mib_per_stream']:.3f} | {r['replay_mib_per_stream']:.3f} "
                        f"| {late} | {r['failures']} "
                        f"| {r.get('endpoint_ms_per_stream_second', float('nan')):.3f} |",
                        flush=True,
                    )
                    if r["failures"]:
                        print(f"|  | first failure: {r['first_failure'][:100]} | | | | | | | |", flush=True)
            print("\n| one open stream, no audio | client CPU (% of a core) |\n|---|---|")
            for impl, transport in implementations:
                url = urls["http2"] if transport == "http2" else urls["websocket"]
                r = _client(impl, transport, 1, 5.0, url, {**env, "IDLE": "1"}, client_core, server.pid)
                idle = r.get("idle_core_fraction")
                text = f"{float(idle) * 100:.2f}" if isinstance(idle, float) else f"failed: {r.get('error')}"
                print(f"| {impl} {transport} | {text} |", flush=True)
        finally:
            server.terminate()
            server.wait(15)
