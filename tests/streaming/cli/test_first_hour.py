"""The user's first hour, run as a user runs it: `streamscribe` as a process.

Two-channel audio, subtitle files written live and surviving Ctrl-C, stdin like a file,
and one-line errors that name the file or flag and say what to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streaming.local import LocalEndpoint
from tests.helpers import FIXTURES, FOX_TEXT, word_error_rate

FOX_WAV = FIXTURES / "fox.wav"
FOX_FLAC = FIXTURES / "fox.flac"
DEMO = FIXTURES.parent.parent / "streaming" / "data" / "demo.flac"
CHANNEL_TEXT = [(FIXTURES / f"channel{i}.txt").read_text().strip() for i in (0, 1)]
CLI = [sys.executable, "-m", "streaming.cli"]

# The module's endpoint (the `local` fixture) is shared: its tests run on one xdist worker.
pytestmark = pytest.mark.xdist_group("first-hour-endpoint")


def cli(*argv: str | Path, stdin: bytes | None = None, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, argv)],
        input=stdin.decode("latin-1") if stdin is not None else None,
        capture_output=True,
        text=True,
        encoding="latin-1",
        timeout=timeout,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    err = result.stderr.strip()
    assert "Traceback" not in err
    assert err.count("\n") == 0, err
    assert not re.search(r"\b(ValueError|OverflowError|RuntimeError|ModuleNotFoundError|KeyError):", err), err
    return err


@pytest.fixture(scope="module")
def local() -> Iterator[LocalEndpoint]:
    """An h2c/ws endpoint in a thread with a short idle timeout (so a stalled source shows)."""
    ready = threading.Event()
    box: dict[str, object] = {}

    async def serve() -> None:
        async with LocalEndpoint(tls="none", idle_timeout=3.0) as ep:
            box.update(ep=ep, loop=asyncio.get_running_loop(), stop=asyncio.Event())
            ready.set()
            await box["stop"].wait()  # type: ignore[attr-defined]

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(15)
    yield box["ep"]  # type: ignore[misc]
    box["loop"].call_soon_threadsafe(box["stop"].set)  # type: ignore[attr-defined]
    thread.join(15)


def stereo_wav(path: Path) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((FIXTURES / "two-channel.pcm").read_bytes())
    return path


def wav_bytes(*, tag: int = 1, bits: int = 16, channels: int = 1, rate: int = 16000, riff: bytes = b"RIFF") -> bytes:
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    data = bytes(3200)
    return (
        riff
        + struct.pack("<I", 36 + len(data))
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


# -- two channels ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["wav", "flac", "pcm"])
def test_two_channel_audio_is_transcribed_per_channel(local: LocalEndpoint, tmp_path: Path, kind: str) -> None:
    extra: list[str] = []
    if kind == "wav":
        audio = stereo_wav(tmp_path / "call.wav")
    elif kind == "flac":
        audio = FIXTURES / "two-channel.flac"
    else:
        audio, extra = FIXTURES / "two-channel.pcm", ["--rate", "16000", "--channels", "2"]
    result = cli("transcribe", audio, *extra, "--endpoint", local.http2_url, "--no-pacing")
    assert result.returncode == 0, result.stderr
    assert "each is transcribed apart" in result.stderr
    lines = result.stdout.splitlines()
    by_channel = {
        ch: " ".join(line.split(": ", 1)[1] for line in lines if line.startswith(f"{ch}: ")) for ch in ("ch_0", "ch_1")
    }
    assert word_error_rate(CHANNEL_TEXT[0], by_channel["ch_0"]) <= 0.3
    assert word_error_rate(CHANNEL_TEXT[1], by_channel["ch_1"]) <= 0.3
    assert all(line.startswith(("ch_0: ", "ch_1: ")) for line in lines)


def test_two_channels_in_the_library_must_be_asked_for(local: LocalEndpoint) -> None:
    code = f"""
import asyncio
import contextlib
from streaming import TranscribeStreamingClient, open_audio, ParameterError
async def main():
    source = open_audio({str(FIXTURES / "two-channel.flac")!r})
    client = TranscribeStreamingClient(endpoint={local.http2_url!r})
    async with client.start_stream_transcription(language_code="en-US", media_sample_rate_hz=16000, media_encoding="flac") as s:
        try:
            await s.send_from(source)
        except ParameterError as exc:
            print("refused:", exc.param, exc)
asyncio.run(main())
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert "refused: number_of_channels" in result.stdout, result.stderr
    assert "enable_channel_identification=True" in result.stdout


def test_call_analytics_on_two_channels_gets_both_roles_by_default(local: LocalEndpoint) -> None:
    result = cli(
        "transcribe", FIXTURES / "two-channel.flac", "--call-analytics", "--endpoint", local.http2_url, "--no-pacing"
    )
    assert result.returncode == 0, result.stderr
    assert "channel 0 is the AGENT, channel 1 the CUSTOMER" in result.stderr
    lines = result.stdout.splitlines()
    # Both participants are recognised, each from their own channel.
    agent = " ".join(line.removeprefix("AGENT: ") for line in lines if line.startswith("AGENT: "))
    customer = " ".join(line.removeprefix("CUSTOMER: ") for line in lines if line.startswith("CUSTOMER: "))
    assert word_error_rate(CHANNEL_TEXT[0], agent) <= 0.25
    assert word_error_rate(CHANNEL_TEXT[1], customer) <= 0.25


def _children(pid: int) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.add(int(entry.name))
            except OSError:
                continue
    return out


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_bad_resources_file_is_one_line(tmp_path: Path, workers: str) -> None:
    bad = tmp_path / "resources.yaml"
    bad.write_text("Vocabularies:\n  - VocabularyName: v\n    LanguageCode: en-US\n")
    result = cli("serve", "--workers", workers, "--no-tls", "--port", "0", "--ws-port", "0", "--resources", bad)
    assert "Vocabularies[0]: give exactly one of Phrases" in one_line_error(result)
    typo = tmp_path / "typo.yaml"  # a misspelt section is refused, not silently ignored
    typo.write_text("Vocabulary:\n  - VocabularyName: v\n    LanguageCode: en-US\n    Phrases: [fox]\n")
    result = cli("serve", "--workers", workers, "--no-tls", "--port", "0", "--ws-port", "0", "--resources", typo)
    assert "unknown section 'Vocabulary': did you mean Vocabularies?" in one_line_error(result)


def test_ctrl_c_right_after_serve_with_workers_starts_stops_everything() -> None:
    server = subprocess.Popen(
        [*CLI, "serve", "--workers", "2", "--no-tls", "--port", "0", "--ws-port", "0", "--engine", "none"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group: Ctrl-C reaches the server and its workers
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline().startswith("listening")
        workers = _children(server.pid)
        os.killpg(server.pid, signal.SIGINT)  # at once: no window where Ctrl-C is a traceback
        assert server.wait(20) == 0
        assert _all_gone(workers)
    finally:
        if server.poll() is None:
            server.kill()


def test_serve_with_workers_shares_the_ports_and_stops_them_all() -> None:
    server = subprocess.Popen(
        [*CLI, "serve", "--workers", "2", "--no-tls", "--port", "0", "--ws-port", "0", "--engine", "none"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith("listening http2=http://127.0.0.1:") and line.strip().endswith("workers=2"), line
        workers = _children(server.pid)
        assert len(workers) == 2
        url = line.split()[1].split("=", 1)[1]
        # Several connections land on the shared port and every stream completes.
        for _ in range(4):
            result = cli("transcribe", FOX_FLAC, "--endpoint", url, "--no-pacing")
            assert result.returncode == 0, result.stderr
        server.send_signal(signal.SIGTERM)
        assert server.wait(20) == 0
        assert _all_gone(workers)  # no worker outlives it
        assert server.stderr is not None
        log = server.stderr.read()
        assert log.count("outcome=completed") == 4
        assert log.count("browser page:") == 1  # printed once, by the parent
    finally:
        if server.poll() is None:
            server.kill()


def _all_gone(pids: list[int], deadline: float = 20.0) -> bool:
    """True once none of ``pids`` runs (zombies count as gone), polled up to ``deadline`` s."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        alive = []
        for pid in pids:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                alive.append(pid)
        if not alive:
            return True
        time.sleep(0.05)
    return False


def _start_workers(*flags: str) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [*CLI, "serve", "--workers", "2", "--no-tls", "--engine", "none", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    return server, server.stdout.readline()


def test_workers_die_with_their_parent_and_a_second_serve_is_refused() -> None:
    server, line = _start_workers("--port", "0", "--ws-port", "0", "--no-page")
    try:
        assert line.startswith("listening http2=http://127.0.0.1:"), line
        http2_port = line.split()[1].rsplit(":", 1)[1]
        ws_port = line.split()[2].split("=", 1)[1].rsplit(":", 1)[1]
        workers = _children(server.pid)
        assert len(workers) == 2
        # A second endpoint on the same ports fails as a single `serve` does; with
        # SO_REUSEPORT it would silently join the first (and overwrite its CA file).
        for extra in (["--workers", "2"], []):
            second = cli("serve", "--no-tls", "--engine", "none", "--port", http2_port, "--ws-port", ws_port, *extra)
            assert second.returncode == 255 and "in use" in second.stderr, second.stderr
        server.kill()  # SIGKILL: no chance to stop its workers
        server.wait(20)
        assert _all_gone(workers)
        with socket.create_server(("127.0.0.1", int(http2_port))):
            pass  # the port is free again
        assert server.stderr is not None
        assert "browser page" not in server.stderr.read()  # --no-page: no page URL that answers 404
    finally:
        if server.poll() is None:
            server.kill()


def test_channel_roles_without_call_analytics_are_refused() -> None:
    err = one_line_error(
        cli("transcribe", FOX_WAV, "--channel-roles", "AGENT,CUSTOMER", "--endpoint", "http://127.0.0.1:9")
    )
    assert "--channel-roles is for --call-analytics" in err


def test_more_than_two_channels_are_refused_with_a_downmix_hint(tmp_path: Path) -> None:
    path = tmp_path / "six.wav"
    path.write_bytes(wav_bytes(channels=6))
    err = one_line_error(cli("transcribe", path, "--endpoint", "http://127.0.0.1:9"))
    assert "6 channels" in err and "sox" in err and str(path) in err


# -- subtitle files, live ----------------------------------------------------------------------------


def srt_cues(text: str) -> list[tuple[int, str, str]]:
    blocks = [b for b in text.split("\n\n") if b.strip()]
    cues = []
    for block in blocks:
        number, times, *lines = block.split("\n")
        assert re.fullmatch(r"\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}", times), times
        cues.append((int(number), times, " ".join(lines)))
    return cues


def _held_stdin(process: subprocess.Popen[Any]) -> None:
    """Two spoken sentences on stdin, then the pipe left open: the stream cannot end by
    itself, however slowly a busy machine recognises (stdin keep-alive bridges the gap)."""
    assert process.stdin is not None
    fox = (FIXTURES / "fox.pcm").read_bytes()
    process.stdin.write(fox + bytes(32000) + fox + bytes(32000))
    process.stdin.flush()


def test_srt_is_written_cue_by_cue_and_survives_ctrl_c(local: LocalEndpoint, tmp_path: Path) -> None:
    out = tmp_path / "demo.srt"
    process = subprocess.Popen(
        [*CLI, "transcribe", "-", "--rate", "16000", "--endpoint", local.http2_url, "-o", str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _held_stdin(process)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if out.exists() and len(srt_cues(out.read_text())) >= 2 and out.read_text().endswith("\n\n"):
                break
            time.sleep(0.1)
        assert process.poll() is None, "the stream ended while its input was still open"
        process.send_signal(signal.SIGINT)
        assert process.wait(20) == 130
    finally:
        if process.poll() is None:
            process.kill()
        assert process.stdin is not None
        process.stdin.close()
    cues = srt_cues(out.read_text())
    assert len(cues) >= 2
    assert [n for n, _, _ in cues] == list(range(1, len(cues) + 1))
    assert all(text for _, _, text in cues)


def test_vtt_to_a_file_by_its_suffix(local: LocalEndpoint, tmp_path: Path) -> None:
    out = tmp_path / "fox.vtt"
    result = cli("transcribe", FOX_FLAC, "--endpoint", local.http2_url, "-o", out, "--no-pacing")
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert text.startswith("WEBVTT\n\n") and " --> " in text
    assert word_error_rate(FOX_TEXT, " ".join(line for line in text.splitlines()[2:] if "-->" not in line)) <= 0.2
    assert result.stdout == ""  # not a terminal: the file is the output


def test_vtt_marks_the_voice_of_each_channel(local: LocalEndpoint) -> None:
    result = cli(
        "transcribe", FIXTURES / "two-channel.flac", "--output", "vtt", "--endpoint", local.http2_url, "--no-pacing"
    )
    assert result.returncode == 0, result.stderr
    assert "<v ch_0>" in result.stdout and "<v ch_1>" in result.stdout


# -- stdin ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["fox.flac", "fox.wav", "fox.opus"])
def test_stdin_is_detected_like_a_file(local: LocalEndpoint, fixture: str) -> None:
    result = cli("transcribe", "-", "--endpoint", local.http2_url, stdin=(FIXTURES / fixture).read_bytes())
    assert result.returncode == 0, result.stderr
    assert word_error_rate(FOX_TEXT, result.stdout) <= 0.2


def test_raw_pcm_on_stdin_needs_its_rate(local: LocalEndpoint) -> None:
    raw = (FIXTURES / "fox.pcm").read_bytes()
    err = one_line_error(cli("transcribe", "-", "--endpoint", local.http2_url, stdin=raw))
    assert "stdin has no WAV, FLAC or Ogg header" in err and "--rate" in err
    result = cli("transcribe", "-", "--rate", "16000", "--endpoint", local.http2_url, stdin=raw)
    assert result.returncode == 0 and word_error_rate(FOX_TEXT, result.stdout) <= 0.2


def test_flac_through_a_named_pipe(local: LocalEndpoint, tmp_path: Path) -> None:
    fifo = tmp_path / "audio.fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as f:
            f.write(FOX_FLAC.read_bytes())

    writer = threading.Thread(target=feed)
    writer.start()
    result = cli("transcribe", fifo, "--endpoint", local.http2_url)
    writer.join(10)
    assert result.returncode == 0, result.stderr
    assert word_error_rate(FOX_TEXT, result.stdout) <= 0.2


@pytest.mark.parametrize("name", ["fox.pcm", "fox.flac", "fox.opus"])
def test_a_stalled_stdin_is_kept_alive_with_silence(local: LocalEndpoint, name: str) -> None:
    # The endpoint gives up after 3 s without audio; stdin stalls for 5 s mid-sentence.
    # PCM gets zeros; FLAC and Ogg/Opus get silence in their own container (frames or a
    # page, the later ones renumbered), which the endpoint decodes like the rest.
    raw = (FIXTURES / name).read_bytes()
    rate = ["--rate", "16000"] if name.endswith(".pcm") else []
    process = subprocess.Popen(
        [*CLI, "transcribe", "-", *rate, "--endpoint", local.http2_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None
    process.stdin.write(raw[: len(raw) // 2])
    process.stdin.flush()
    time.sleep(5)
    out, err = process.communicate(raw[len(raw) // 2 :], timeout=60)
    assert process.returncode == 0, err.decode()
    assert word_error_rate(FOX_TEXT, out.decode()) <= 0.35


# -- errors a person can act on ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["--endpoint", "127.0.0.1:8443"], ["endpoint", "https://"]),
        (["--endpoint", "https://"], ["endpoint", "no host"]),
        (["--endpoint", "https://127.0.0.1:8443/stream-transcription"], ["endpoint", "without a path"]),
        (["--region", "", "--endpoint", "https://127.0.0.1:8443"], ["region"]),
        (["--region", "us east 1", "--endpoint", "https://127.0.0.1:8443"], ["region", "us east 1"]),
        (["--transport", "websocket", "--endpoint", "https://127.0.0.1:8443"], ["--transport websocket", "wss://"]),
        (
            ["--ca", "/nonexistent/ca.pem", "--endpoint", "https://127.0.0.1:8443"],
            ["--ca /nonexistent/ca.pem", "no such file"],
        ),
        (["--rate", "8000", "--endpoint", "https://127.0.0.1:8443"], ["fox.wav says 16000 Hz", "--rate"]),
    ],
)
def test_bad_flags_are_named(argv: list[str], needles: list[str]) -> None:
    err = one_line_error(cli("transcribe", FOX_WAV, *argv))
    for needle in needles:
        assert needle in err


def test_a_ca_file_that_is_not_a_certificate(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    err = one_line_error(cli("transcribe", FOX_WAV, "--ca", bogus, "--endpoint", "https://127.0.0.1:8443"))
    assert str(bogus) in err and "not a PEM certificate" in err


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        (b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(100), ["MP3", "ffmpeg -i"]),
        (b"\xff\xfb\x90\x00" + bytes(100), ["MP3", "ffmpeg -i"]),
        (b"\xff\xf1\x50\x80" + bytes(100), ["AAC", "ffmpeg -i"]),
        (b"\x00\x00\x00\x20ftypM4A " + bytes(100), ["MP4/M4A", "ffmpeg -i"]),
        (b"\x1a\x45\xdf\xa3" + bytes(100), ["WebM", "ffmpeg -i"]),
        (b"OggS\x00\x02" + bytes(22) + b"\x01\x1e\x01vorbis" + bytes(40), ["Ogg Vorbis", "ffmpeg -i"]),
        (b"", ["is empty"]),
        (b"hello, this is not audio at all\n" * 4, ["is text, not audio"]),
        (wav_bytes(riff=b"RF64"), ["RF64", "ffmpeg -i"]),
        (wav_bytes(bits=8), ["8-bit", "16-bit", "ffmpeg -i"]),
        (wav_bytes(bits=24), ["24-bit", "16-bit", "ffmpeg -i"]),
        (wav_bytes(tag=3, bits=32), ["floating-point", "ffmpeg -i"]),
        (wav_bytes(tag=7, bits=8), ["mu-law", "ffmpeg -i"]),
        (wav_bytes(rate=96000), ["96000 Hz", "48000", "ffmpeg -i"]),
    ],
    ids=[
        "id3",
        "mp3",
        "aac",
        "m4a",
        "webm",
        "vorbis",
        "empty",
        "text",
        "rf64",
        "8bit",
        "24bit",
        "float",
        "mulaw",
        "96k",
    ],
)
def test_files_the_service_does_not_take(tmp_path: Path, content: bytes, needles: list[str]) -> None:
    path = tmp_path / "input.wav"  # the name says WAV whatever it is
    path.write_bytes(content)
    err = one_line_error(cli("transcribe", path, "--endpoint", "http://127.0.0.1:9"))
    assert str(path) in err
    for needle in needles:
        assert needle in err


def test_a_24_bit_flac_is_refused_by_the_same_rule(tmp_path: Path) -> None:
    data = bytearray(FOX_FLAC.read_bytes())
    # STREAMINFO bits-per-sample: 5 bits ending at bit 36 of the 64-bit field at byte 18.
    packed = int.from_bytes(data[18:26], "big")
    packed = (packed & ~(0x1F << 36)) | (23 << 36)
    data[18:26] = packed.to_bytes(8, "big")
    path = tmp_path / "deep.flac"
    path.write_bytes(bytes(data))
    err = one_line_error(cli("transcribe", path, "--endpoint", "http://127.0.0.1:9"))
    assert "24-bit FLAC" in err and "16-bit" in err


def test_a_language_the_local_endpoint_cannot_recognise(local: LocalEndpoint) -> None:
    result = cli("transcribe", FOX_FLAC, "--language", "de-DE", "--endpoint", local.http2_url, "--no-pacing")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("recognises English only") == 1


def test_output_into_a_closed_pipe_is_quiet(local: LocalEndpoint) -> None:
    command = f"{' '.join(CLI)} transcribe {DEMO} --endpoint {local.http2_url} --no-pacing | head -1"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=90, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1
    assert "Broken pipe" not in result.stderr and "BrokenPipeError" not in result.stderr


# -- the local endpoint as a program -----------------------------------------------------------------


def test_serve_flags_that_cannot_work_are_refused(tmp_path: Path) -> None:
    cases = [
        (["--no-tls", "--ca-out", str(tmp_path / "ca.pem")], "--ca-out"),
        (["--port", "9555", "--ws-port", "9555"], "must differ"),
        (["--max-streams", "0"], "--max-streams"),
        (["--idle-timeout", "0"], "--idle-timeout"),
        (["--tls-cert", str(tmp_path / "missing.pem"), "--tls-key", str(tmp_path / "missing.key")], "missing.pem"),
    ]
    for argv, needle in cases:
        result = cli("serve", *argv, timeout=30)
        assert result.returncode != 0
        assert needle in result.stderr, (argv, result.stderr)
        assert "Traceback" not in result.stderr


def test_a_taken_port_leaves_the_running_servers_ca_alone(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ca = tmp_path / "ca.pem"
        ca.write_text("the running server's CA\n")
        result = cli("serve", "--port", str(port), "--ws-port", "0", "--ca-out", ca, timeout=30)
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert ca.read_text() == "the running server's CA\n"


def test_version_and_defaults_in_help() -> None:
    result = cli("--version")
    assert result.returncode == 0 and re.fullmatch(r"streamscribe \S+\n", result.stdout)
    help_text = cli("serve", "--help").stdout
    assert "(default: 25)" in help_text and "(default: 8443)" in help_text
    from streaming.cli.parser import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    for name, sub in commands.choices.items():  # type: ignore[union-attr]
        for action in sub._actions:
            assert action.help, f"streamscribe {name} {action.option_strings or action.dest} has no help text"


def test_serve_without_the_local_extra_says_what_to_install() -> None:
    code = "import sys; sys.modules['aiohttp'] = None; from streaming.cli import main; sys.exit(main(['serve']))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 253  # configuration: an extra is missing
    assert "pip install 'streamscribe[local]'" in result.stderr
    assert "ModuleNotFoundError" not in result.stderr


def test_serve_logs_one_line_per_request_refusals_and_shutdowns_included(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [*CLI, "serve", "--no-tls", "--port", "0", "--ws-port", "0"],  # a real recogniser: finals show progress
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert server.stdout is not None
        listening = server.stdout.readline()
        assert listening.startswith("listening http2=http://127.0.0.1:")  # machine-readable, on stdout
        urls = dict(part.split("=", 1) for part in listening.split()[1:])
        url = urls["http2"]
        web = urls["websocket"].replace("ws", "http", 1)
        # Plain HTTP requests on the WebSocket port are logged like the rest...
        for path, status in (("/", 200), ("/favicon.ico", 200), ("/nothing-here", 404)):
            with contextlib.suppress(urllib.error.HTTPError), urllib.request.urlopen(web + path, timeout=30) as r:
                assert r.status == status
        # ...and so is a WebSocket refused for its Origin (another site's page).
        request = urllib.request.Request(
            web + "/stream-transcription-websocket",
            headers={"Origin": "https://evil.example", "Upgrade": "websocket", "Connection": "Upgrade"},
        )
        with pytest.raises(urllib.error.HTTPError, match="403"):
            urllib.request.urlopen(request, timeout=30)
        refused = subprocess.run(
            [*CLI, "transcribe", str(FOX_WAV), "--endpoint", url],
            env={**os.environ, "AWS_ACCESS_KEY_ID": "AKIDSTRANGER", "AWS_SECRET_ACCESS_KEY": "x"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert refused.returncode == 254
        # A stream that is still sending when the server stops.
        client = subprocess.Popen(
            [*CLI, "transcribe", str(DEMO), "--endpoint", url], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert client.stdout is not None
        assert client.stdout.readline()  # its first final: the 23 s stream is under way
        server.send_signal(signal.SIGTERM)
        assert server.wait(20) == 0
        client.wait(30)
    finally:
        for process in (server,):
            if process.poll() is None:
                process.kill()
    log = server.stderr.read() if server.stderr else ""
    lines = [line for line in log.splitlines() if line.strip()]
    refusals = [line for line in lines if line.startswith("refused ")]
    assert len(refusals) == 2
    assert "origin='https://evil.example'" in refusals[0] and "status=403 AccessDeniedException" in refusals[0]
    assert "key=AKIDSTRANGER" in refusals[1] and "status=403 UnrecognizedClientException" in refusals[1]
    http = [line for line in lines if line.startswith("http ")]
    assert http == ["http GET / status=200", "http GET /favicon.ico status=200", "http GET /nothing-here status=404"]
    assert any("outcome=ended by server shutdown" in line for line in lines), log
    assert "listening" not in log  # the listening line is stdout's alone


def test_a_file_is_written_while_the_terminal_shows_live_captions(local: LocalEndpoint, tmp_path: Path) -> None:
    import pty

    out = tmp_path / "fox.srt"
    main, secondary = pty.openpty()
    process = subprocess.Popen(
        [*CLI, "transcribe", str(FOX_FLAC), "--endpoint", local.http2_url, "-o", str(out), "--speed", "4"],
        stdout=secondary,
        stderr=secondary,
        stdin=subprocess.DEVNULL,
    )
    os.close(secondary)
    screen = b""
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # the other side closed
            break
        if not data:
            break
        screen += data
    os.close(main)
    assert process.wait(30) == 0
    text = screen.decode("utf-8", "replace")
    assert "s sent" in text  # the progress line of the live view
    assert "\x1b[" in text  # drawn in place on the terminal
    cues = srt_cues(out.read_text())
    assert cues and word_error_rate(FOX_TEXT, " ".join(t for _, _, t in cues)) <= 0.2


def test_control_characters_from_the_peer_never_reach_the_terminal() -> None:
    import io

    from streaming.cli.display import CaptionPrinter
    from streaming.proto.actions import StreamStats
    from streaming.proto.models import Alternative, Result, Transcript, TranscriptEvent

    hostile = "hello \x1b]0;owned\x07 \x1b[2J world"
    event = TranscriptEvent(
        transcript=Transcript(results=(Result(result_id="r", alternatives=(Alternative(transcript=hostile),)),))
    )
    for tty in (False, True):
        screen = io.StringIO()
        CaptionPrinter(screen, tty=tty, status=io.StringIO()).event(event, StreamStats())
        assert (
            "\x1b]" not in screen.getvalue() and "\x07" not in screen.getvalue() and "\x1b[2J" not in screen.getvalue()
        )
        assert "hello" in screen.getvalue() and "world" in screen.getvalue()


def test_no_secret_or_token_in_any_output_of_failing_runs_with_debug(tmp_path: Path) -> None:
    secret, token = "secret-that-must-not-leak", "token-that-must-not-leak"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [*CLI, "--debug", "serve", "--no-tls", "--port", "0", "--ws-port", "0", "--engine", "none"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        fields = dict(part.split("=", 1) for part in server.stdout.readline().split()[1:])
        client_env = {
            **env,
            "AWS_ACCESS_KEY_ID": "AKIDLEAK",
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_SESSION_TOKEN": token,
        }
        http = fields["websocket"].replace("ws", "http", 1)
        runs = [
            [*CLI, "--debug", "transcribe", str(FOX_WAV), "--endpoint", fields["http2"]],
            [*CLI, "--debug", "transcribe", str(FOX_WAV), "--endpoint", fields["websocket"]],
            [*CLI, "--debug", "job", "get", "nothing", "--endpoint", http],
        ]
        outputs = []
        for argv in runs:
            result = subprocess.run(argv, capture_output=True, text=True, env=client_env, timeout=60, check=False)
            assert result.returncode != 0  # the endpoint does not know this key
            outputs += [result.stdout, result.stderr]
        server.send_signal(signal.SIGTERM)
        server.wait(15)
        outputs.append(server.stderr.read() if server.stderr else "")
    finally:
        if server.poll() is None:
            server.kill()
    assert "refused" in outputs[-1]  # the server did log the refusals...
    for text in outputs:  # ...and nobody printed the secret or the token
        assert secret not in text and token not in text


def _read_until(fd: int, needle: bytes, deadline: float = 60.0) -> bytes:
    """Read a pty until ``needle`` shows (or the other side closes, or the deadline)."""
    import select

    out = b""
    end = time.monotonic() + deadline
    while needle not in out and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
    return out


def test_ctrl_c_on_a_terminal_clears_the_live_lines_and_says_interrupted(local: LocalEndpoint) -> None:
    import pty

    main, secondary = pty.openpty()
    process = subprocess.Popen(
        [*CLI, "transcribe", "-", "--rate", "16000", "--endpoint", local.http2_url],
        stdout=secondary,
        stderr=secondary,
        stdin=subprocess.PIPE,
    )
    os.close(secondary)
    try:
        _held_stdin(process)  # the stream is still open when Ctrl-C comes, whatever the speed
        # A final line, then the live block (partial line, progress) drawn again after it.
        screen = _read_until(main, b"dog.", deadline=120)
        screen += _read_until(main, b"s sent", deadline=60)
        assert b"dog." in screen and b"s sent" in screen
        process.send_signal(signal.SIGINT)
        rest = _read_until(main, b"interrupted")
        assert process.wait(20) == 130
        rest += _read_until(main, b"\0", deadline=2)  # whatever else it wrote before closing
    finally:
        os.close(main)
        if process.poll() is None:
            process.kill()
        assert process.stdin is not None
        process.stdin.close()
    text = rest.decode("utf-8", "replace")
    # The live block (partial line, progress bar) is cleared, not left half-drawn above
    # the message, and nothing drawn after the clear is a progress bar.
    assert re.search(r"\x1b\[\d+F\x1b\[J", text), repr(text)
    after_clear = re.split(r"\x1b\[\d+F\x1b\[J", text)[-1]
    assert "s sent" not in after_clear
    assert after_clear.rstrip().endswith("streamscribe: interrupted"), repr(after_clear)
    assert "Traceback" not in text


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_with_the_built_in_example_resources_serves_them(workers: str) -> None:
    """``--resources example`` (as the README documents it) loads the built-in examples."""
    server = subprocess.Popen(
        [*CLI, "serve", "--workers", workers, "--no-tls", "--port", "0", "--ws-port", "0", "--engine", "none",
         "--resources", "example"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith("listening"), server.stderr.read() if server.stderr else line
        http2_url = line.split("http2=", 1)[1].split()[0]
        for name, exists in (("example-vocabulary", True), ("no-such-vocabulary", False)):
            result = cli("transcribe", FIXTURES / "fox.wav", "--endpoint", http2_url, "--no-pacing",
                         "--vocabulary-name", name)  # fmt: skip
            assert (result.returncode == 0) == exists, result.stderr
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(20)


@pytest.mark.parametrize(("name", "kind"), [("demo.flac", "flac"), ("fox.opus", "opus")])
def test_a_file_cut_short_is_transcribed_up_to_the_cut_then_warned(
    local: LocalEndpoint, tmp_path: Path, name: str, kind: str
) -> None:
    """A recorder killed mid-file: what is readable is transcribed (and written), then one warning."""
    whole = (DEMO if name == "demo.flac" else FIXTURES / name).read_bytes()
    cut = tmp_path / f"cut.{kind}"
    cut.write_bytes(whole[: len(whole) * 8 // 10])
    srt = tmp_path / "cut.srt"
    result = cli("transcribe", cut, "--endpoint", local.http2_url, "--no-pacing", "-o", srt)
    assert result.returncode == 0, result.stderr
    cues = [line for line in srt.read_text().splitlines() if line and "-->" not in line and not line.isdigit()]
    assert len(" ".join(cues).split()) >= 4  # the words before the cut
    warning = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warning) == 1 and "is cut short" in warning[0] and "transcribed the" in warning[0], result.stderr
