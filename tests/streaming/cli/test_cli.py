"""The command line, run for real: against a local endpoint, and `serve` as a subprocess."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import sigv4
from streaming import TranscribeStreamingClient, transcribe_file
from streaming.cli import main
from streaming.cli.demo import run_demo
from streaming.cli.display import CaptionPrinter
from streaming.local import LocalEndpoint
from tests.helpers import FIXTURES, FOX_TEXT, word_error_rate

FOX_WAV = str(FIXTURES / "fox.wav")
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
DEMO_TEXT = (FIXTURES / "demo.txt").read_text()


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_transcribe_text(threaded_endpoint: LocalEndpoint, capsys) -> None:
    code, out, err = run(["transcribe", FOX_WAV, "--endpoint", threaded_endpoint.http2_url, "--speed", "8"], capsys)
    assert code == 0
    assert word_error_rate(FOX_TEXT, out) <= 0.15
    assert out.count("\n") == 1  # not a TTY: just the final line
    assert "summary: " in err and "words" in err


@pytest.mark.parametrize("transport", ["http2", "websocket"])
def test_transcribe_jsonl(threaded_endpoint: LocalEndpoint, capsys, transport: str) -> None:
    url = threaded_endpoint.http2_url if transport == "http2" else threaded_endpoint.websocket_url
    code, out, _ = run(
        [
            "transcribe",
            FOX_WAV,
            "--endpoint",
            url,
            "--transport",
            transport,
            "--output",
            "jsonl",
            "--speed",
            "8",
            "--show-speaker-label",
        ],
        capsys,
    )
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert all(list(e) == ["TranscriptEvent"] for e in events)  # the event-stream union, as the SDKs show it
    results = [r for e in events for r in e["TranscriptEvent"]["Transcript"]["Results"]]
    assert results[-1]["IsPartial"] is False
    assert results[-1]["Alternatives"][0]["Items"][0]["Speaker"] == "0"
    # Fields the service leaves out are left out, not null (no channel id, no language).
    assert "null" not in out
    assert all("ChannelId" not in r and "LanguageCode" not in r for r in results)
    partial_items = [i for r in results if r["IsPartial"] for i in r["Alternatives"][0]["Items"]]
    assert partial_items and all("Speaker" not in i for i in partial_items)


@pytest.mark.parametrize(("fmt", "head"), [("srt", "1\n00:00:0"), ("vtt", "WEBVTT\n\n00:00:0")])
def test_transcribe_captions(threaded_endpoint: LocalEndpoint, capsys, fmt: str, head: str) -> None:
    code, out, _ = run(
        [
            "transcribe",
            str(FIXTURES / "fox.flac"),
            "--endpoint",
            threaded_endpoint.http2_url,
            "--output",
            fmt,
            "--no-pacing",
        ],
        capsys,
    )
    assert code == 0
    assert out.startswith(head)
    assert " --> " in out
    assert (
        word_error_rate(
            FOX_TEXT, " ".join(line for line in out.splitlines() if line[:1].isalpha() and "WEBVTT" not in line)
        )
        <= 0.15
    )


def test_transcribe_stdin_medical_and_call_analytics(threaded_endpoint: LocalEndpoint, capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO((FIXTURES / "fox.pcm").read_bytes())))
    code, out, _ = run(
        [
            "transcribe",
            "-",
            "--rate",
            "16000",
            "--endpoint",
            threaded_endpoint.http2_url,
            "--speed",
            "8",
            "--medical",
            "--specialty",
            "CARDIOLOGY",
            "--type",
            "CONVERSATION",
        ],
        capsys,
    )
    assert code == 0
    assert word_error_rate(FOX_TEXT, out) <= 0.15
    code, out, _ = run(
        [
            "transcribe",
            FOX_WAV,
            "--endpoint",
            threaded_endpoint.http2_url,
            "--speed",
            "8",
            "--call-analytics",
        ],
        capsys,
    )
    assert code == 0
    assert word_error_rate(FOX_TEXT, out) <= 0.15
    # The service takes exactly two ChannelDefinitions: roles are for two-channel audio only.
    code, _, err = run(
        [
            "transcribe",
            FOX_WAV,
            "--endpoint",
            threaded_endpoint.http2_url,
            "--call-analytics",
            "--channel-roles",
            "CUSTOMER",
        ],
        capsys,
    )
    assert code != 0 and "this audio is mono" in err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["transcribe", "missing.wav"], "audio problem: cannot read audio file missing.wav"),
        (["transcribe", FOX_WAV, "--sample-rate", "1"], "unrecognized arguments"),
        (["transcribe", FOX_WAV, "--vocabulary-name", "bad name!"], "invalid parameter: vocabulary_name"),
        (["transcribe", FOX_WAV, "--medical"], "--medical needs --specialty and --type"),
        (["transcribe"], "no audio"),
        (["serve", "--credentials", "nocolon"], "must be AKID:SECRET"),
    ],
)
def test_errors_are_one_line(capsys, argv: list[str], needle: str) -> None:
    try:
        code = main([*argv, "--endpoint", "http://127.0.0.1:9"] if argv[0] == "transcribe" else argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    _, err = capsys.readouterr()
    assert code != 0
    assert needle in err
    assert "Traceback" not in err


def test_connection_errors_say_what_to_do(capsys) -> None:
    code, _, err = run(["transcribe", FOX_WAV, "--endpoint", "http://127.0.0.1:9"], capsys)
    assert code == 255  # the connection: the AWS CLI's 'other'
    assert "Is the endpoint running" in err
    assert err.count("\n") == 1
    code, _, err = run(["--debug", "transcribe", FOX_WAV, "--endpoint", "http://127.0.0.1:9"], capsys)
    assert "Traceback" in err


def test_presign_for_a_local_endpoint(threaded_endpoint: LocalEndpoint, capsys) -> None:
    code, out, _ = run(
        [
            "presign",
            "--endpoint",
            threaded_endpoint.websocket_url,
            "--expires",
            "60",
            "--language",
            "en-GB",
            "--show-speaker-label",
        ],
        capsys,
    )
    assert code == 0
    url = out.strip()
    assert "language-code=en-GB" in url and "show-speaker-label=true" in url and "X-Amz-Expires=60" in url
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.netloc
    verified = sigv4.verify_presigned_request(
        "GET",
        f"{parts.path}?{parts.query}",
        {"host": host},
        credentials=threaded_endpoint.credentials,
        now=threaded_endpoint.clock(),
    )
    assert verified.presigned


def test_every_command_has_help_with_examples(capsys) -> None:
    for command in ("transcribe", "presign", "serve"):
        with pytest.raises(SystemExit) as info:
            main([command, "--help"])
        assert info.value.code == 0
        out, _ = capsys.readouterr()
        assert "example" in out
    code, out, _ = run([], capsys)
    assert code == 252  # usage
    assert "transcribe" in out and "serve" in out and "demo" in out


def test_serve_as_a_process(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streaming.cli",
            "serve",
            "--port",
            "0",
            "--ws-port",
            "0",
            "--ca-out",
            str(ca),
            "--credentials",
            "AKIDTEST:secret1",
            "--engine",
            "none",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("listening http2=https://127.0.0.1:")
        fields = dict(part.split("=", 1) for part in line.split()[1:])
        assert fields["websocket"].startswith("wss://127.0.0.1:")
        assert ca.read_text().startswith("-----BEGIN CERTIFICATE-----")
        client = TranscribeStreamingClient(
            endpoint=fields["http2"], ca_file=str(ca), credentials=sigv4.Credentials("AKIDTEST", "secret1")
        )
        assert transcribe_file(FOX_WAV, client=client) == []  # --engine none: decoded, nothing recognised
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        log = process.stderr.read()  # type: ignore[union-attr]
        assert "op=StartStreamTranscription" in log and "outcome=completed" in log
        assert "secret1" not in log
    finally:
        if process.poll() is None:
            process.kill()


async def test_demo_plain_output() -> None:
    out = io.StringIO()
    assert await run_demo(speed=8.0, out=out, tty=False) == 0
    text = out.getvalue()
    assert text.count("== HTTP/2") == 1 and text.count("== WebSocket") == 1
    for section in text.split("== ")[1:]:
        captions = " ".join(line for line in section.splitlines()[1:] if not line.startswith("summary:"))
        assert word_error_rate(DEMO_TEXT, captions) <= 0.3
        assert "summary: " in section and " s of audio" in section


def test_tty_rendering_updates_in_place() -> None:
    from streaming.proto.actions import StreamStats
    from streaming.proto.models import Alternative, Item, Result, Transcript, TranscriptEvent

    out = io.StringIO()
    printer = CaptionPrinter(out, tty=True, total_seconds=10, status=io.StringIO())

    def ev(text: str, partial: bool) -> TranscriptEvent:
        items = tuple(Item(content=w, stable=(i == 0) if partial else True) for i, w in enumerate(text.split()))
        return TranscriptEvent(
            transcript=Transcript(
                results=(
                    Result(
                        result_id="r", is_partial=partial, alternatives=(Alternative(transcript=text, items=items),)
                    ),
                )
            )
        )

    stats = StreamStats(audio_seconds=5.0)
    printer.event(ev("hello wor", True), stats)
    printer.event(ev("hello world", False), stats)
    screen = out.getvalue()
    assert "\x1b[2mwor\x1b[0m" in screen  # the unstable word is dimmed
    assert "\x1b[2F\x1b[J" in screen  # the live block is redrawn in place
    assert "[###############...............]   5.0/10.0 s sent" in screen
    assert screen.rstrip().endswith("sent\x1b[0m")
    assert "hello world\n" in screen


def test_debug_says_which_credentials_sign(threaded_endpoint: LocalEndpoint, capsys) -> None:
    url = threaded_endpoint.http2_url
    code, _, err = run(["--debug", "transcribe", FOX_WAV, "--endpoint", url, "--no-pacing"], capsys)
    assert code == 0
    assert "signing with AKIDSTREAMSCRIBELOCAL from the local endpoint's development key pair" in err


def test_exported_credentials_are_used_against_a_local_endpoint(
    threaded_endpoint: LocalEndpoint, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The user's own pair wins over the development pair; this endpoint does not know it.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXPORTED")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "exported-secret")
    code, _, err = run(["--debug", "transcribe", FOX_WAV, "--endpoint", threaded_endpoint.http2_url], capsys)
    assert code == 254  # the service refused the key
    assert "signing with AKIDEXPORTED from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY" in err
    assert "refused the credentials" in err and "AWS_ACCESS_KEY_ID" in err
    code, out, err = run(["presign", "--endpoint", threaded_endpoint.websocket_url], capsys)
    assert code == 0 and "X-Amz-Credential=AKIDEXPORTED" in out


def test_serve_accepts_the_pair_the_user_exported(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_ACCESS_KEY_ID": "AKIDMINE",
        "AWS_SECRET_ACCESS_KEY": "mine-secret",
        "PYTHONUNBUFFERED": "1",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "streaming.cli", "serve", "--port", "0", "--ws-port", "0", "--no-tls",
         "--credentials", "AKIDMINE:mine-secret"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        url = dict(part.split("=", 1) for part in line.split()[1:])["http2"]
        result = subprocess.run(
            [sys.executable, "-m", "streaming.cli", "transcribe", FOX_WAV, "--endpoint", url, "--no-pacing"],
            check=False,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert word_error_rate(FOX_TEXT, result.stdout) <= 0.15
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(15)


@pytest.mark.parametrize("transport", ["http2", "websocket"])
def test_debug_output_never_shows_a_secret_or_token(threaded_endpoint: LocalEndpoint, transport: str) -> None:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKIDLEAKCHECK",
        "AWS_SECRET_ACCESS_KEY": "secret-that-must-not-leak",
        "AWS_SESSION_TOKEN": "token-that-must-not-leak",
    }
    url = threaded_endpoint.http2_url if transport == "http2" else threaded_endpoint.websocket_url
    result = subprocess.run(
        [sys.executable, "-m", "streaming.cli", "--debug", "transcribe", FOX_WAV, "--endpoint", url,
         "--transport", transport, "--no-pacing"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 254  # the endpoint does not know this key
    assert "Traceback" in result.stderr  # --debug did show everything else
    for text in (result.stdout, result.stderr):
        assert "secret-that-must-not-leak" not in text
        assert "token-that-must-not-leak" not in text


def test_exit_statuses_tell_failures_apart_as_the_aws_cli_does(
    threaded_endpoint: LocalEndpoint, capsys, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """252 usage, 253 configuration (credentials, a CA file), 254 the service's error, 255 other."""
    with pytest.raises(SystemExit) as usage:
        main(["transcribe", FOX_WAV, "--no-such-flag"])
    assert usage.value.code == 252
    assert run(["transcribe", FOX_WAV, "--specialty", "PRIMARYCARE"], capsys)[0] == 252  # needs --medical
    local = threaded_endpoint.http2_url
    assert run(["transcribe", FOX_WAV, "--endpoint", local, "--language", "english"], capsys)[0] == 252
    assert run(["transcribe", FOX_WAV, "--ca", str(tmp_path / "missing.pem")], capsys)[0] == 253
    monkeypatch.setenv("HOME", str(tmp_path))  # no shared files, no variables: no credentials
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    code, _, err = run(["transcribe", FOX_WAV, "--region", "eu-west-1"], capsys)
    assert code == 253 and "credentials problem" in err
    code, _, err = run(
        ["transcribe", FOX_WAV, "--endpoint", threaded_endpoint.http2_url, "--language", "xx-XX"], capsys
    )
    assert code in (252, 254), err  # refused by our check or by the endpoint, never "other"
    code, _, err = run(["transcribe", FOX_WAV, "--endpoint", "http://127.0.0.1:9"], capsys)
    assert code == 255 and "Is the endpoint running" in err


def test_debug_shows_the_connections_and_the_ids_a_support_case_needs(threaded_endpoint: LocalEndpoint) -> None:
    def cli(*argv: str) -> tuple[int, str]:
        env = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true"}
        done = subprocess.run(
            [sys.executable, "-m", "streaming.cli", *argv],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        return done.returncode, done.stderr

    url = threaded_endpoint.http2_url
    code, err = cli("--debug", "transcribe", str(FOX_WAV), "--endpoint", url, "--no-pacing")
    assert code == 0, err
    assert f"opening {url}/stream-transcription over http2" in err
    assert re.search(f"connection 1 open: session {UUID}, request {UUID}", err), err
    code, err = cli("transcribe", str(FOX_WAV), "--endpoint", url, "--no-pacing")
    assert code == 0 and "streaming.stream" not in err and "connection 1 open" not in err
    code, err = cli("--debug", "transcribe", str(FOX_WAV), "--endpoint", "http://127.0.0.1:9", "--no-pacing")
    assert code == 255
    assert err.count("connecting failed: ConnectError") >= 2 and "retrying in" in err


def test_json_output_is_one_document_with_the_session_and_every_final(
    threaded_endpoint: LocalEndpoint, capsys, tmp_path: Path
) -> None:
    url = threaded_endpoint.http2_url
    code, out, _ = run(["transcribe", FOX_WAV, "--endpoint", url, "--no-pacing", "--output", "json"], capsys)
    assert code == 0
    document = json.loads(out)
    assert re.fullmatch(UUID, document["SessionId"]) and re.fullmatch(UUID, document["RequestId"])
    assert document["Complete"] is True
    assert word_error_rate(FOX_TEXT, document["Transcript"]) <= 0.15
    assert document["Results"] and all(r["IsPartial"] is False for r in document["Results"])
    code, _, _ = run(["transcribe", FOX_WAV, "--endpoint", url, "--no-pacing", "-o", str(tmp_path / "t.json")], capsys)
    assert code == 0 and json.loads((tmp_path / "t.json").read_text())["Transcript"] == document["Transcript"]


def test_help_describes_each_service_option_in_words_not_python_names(capsys) -> None:
    from streaming.proto.params import PARAMETERS

    with pytest.raises(SystemExit):
        main(["transcribe", "--help"])
    out, _ = capsys.readouterr()
    names = [p.name for p in PARAMETERS if "_" in p.name]
    assert [name for name in names if name in out] == []
    assert "label who speaks each word" in out


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("untrusted", "--ca"),
        ("not-tls", "use http:// (HTTP/2) or ws://"),
        ("tls-only", "use https:// (HTTP/2) or wss://"),
    ],
)
def test_a_connection_the_user_can_fix_gets_one_hint_in_flags(kind: str, says: str) -> None:
    from streaming.cli.app import _explain
    from streaming.proto.errors import ConnectError

    error = ConnectError("TLS with 127.0.0.1:8443 failed", advice=" (pass the CA as ca_file)", kind=kind)
    line = _explain(error)
    assert line.startswith("TLS with 127.0.0.1:8443 failed. ") and says in line
    assert "ca_file" not in line and "Is the endpoint running" not in line and line.count("with --ca ") <= 1
