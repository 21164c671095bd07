"""Command-line conventions people expect, each checked by running `streamscribe` as a process.

Mistakes are one line that names the flag or file and says what to do, with no Python class
name in it; `--debug` goes before or after the subcommand; nothing a library logs shows on
a normal run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from streaming.local import LocalEndpoint
from tests.helpers import FIXTURES

FOX_WAV = FIXTURES / "fox.wav"
# Python's and our own exception classes; the service's error codes (BadRequestException)
# are part of its API and stay, as the AWS CLI shows them.
CLASS_NAME = re.compile(
    r"\b(ValueError|OverflowError|TypeError|KeyError|RuntimeError|OSError|AttributeError|ModuleNotFoundError"
    r"|AudioSourceError|AudioFormatError|ProtocolError|ConnectError|TransportError|ParameterError"
    r"|CredentialsError|SigningError|StreamStateError)\b"
)


def cli(
    *argv: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streaming.cli", *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        env=env,
        cwd=cwd,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    err = result.stderr.strip()
    assert err.count("\n") == 0, err
    assert "Traceback" not in err and "usage:" not in err
    assert not CLASS_NAME.search(err), err
    return err


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["serve", "--port", "70000"], ["--port", "0..65535", "70000"]),
        (["serve", "--ws-port", "http"], ["--ws-port", "not a port number"]),
        (["serve", "--max-streams", "0"], ["--max-streams", "greater than 0"]),
        (["serve", "--idle-timeout", "-1"], ["--idle-timeout", "greater than 0"]),
        (["transcribe", FOX_WAV, "--speed", "0"], ["--speed", "greater than 0"]),
        (["transcribe", FOX_WAV, "--endpoint", "https://[::1:8443"], ["--endpoint", "not a URL"]),
        (["transcribe", FOX_WAV, "--endpoint", "https://user@127.0.0.1:8443"], ["user name or password"]),
        (["transcribe", FOX_WAV, "--specialty", "PRIMARYCARE"], ["--specialty", "--medical"]),
        (["transcribe", FOX_WAV, "--type", "DICTATION"], ["--type", "--medical"]),
        (["transcribe", "--mic", "--endpoint", "http://127.0.0.1:9"], ["audio problem", "streamscribe[mic]"]),
        (["transcribe", FOX_WAV, "--ca", "."], ["--ca .", "is a directory"]),
    ],
)
def test_mistakes_are_one_line_that_names_the_flag(argv: list[str], needles: list[str], tmp_path: Path) -> None:
    env = dict(os.environ)
    if "--mic" in argv:  # a machine without the mic extra, whatever this one has
        shadow = tmp_path / "shadow"
        shadow.mkdir()
        (shadow / "sounddevice.py").write_text("raise ImportError('no sounddevice here')\n")
        env["PYTHONPATH"] = os.pathsep.join([str(shadow), str(Path.cwd())])
    err = one_line(cli(*argv, env=env, cwd=tmp_path))
    for needle in needles:
        assert needle in err, err
    assert not (tmp_path / "out.json").exists()  # refused before anything was written


def test_debug_goes_before_or_after_the_subcommand() -> None:
    for argv in (["--debug", "transcribe"], ["transcribe", "--debug"]):
        result = cli(*argv, FOX_WAV, "--endpoint", "http://127.0.0.1:9", "--no-pacing")
        assert result.returncode == 255
        assert "Traceback" in result.stderr  # --debug shows it, wherever it was written


def test_version_after_a_subcommand() -> None:
    for command in ("serve", "transcribe", "job"):
        result = cli(command, "--version")
        assert result.returncode == 0 and result.stdout.startswith("streamscribe ")


def test_a_profile_that_does_not_exist_is_named(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AWS_PROFILE": "nope", "AWS_EC2_METADATA_DISABLED": "true"}
    err = one_line(cli("transcribe", FOX_WAV, "--region", "eu-west-1", env=env))
    assert "profile 'nope' is not defined" in err
    assert err.count("credentials problem") == 1


def test_a_name_that_does_not_resolve_does_not_suggest_a_ca() -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    err = one_line(cli("transcribe", FOX_WAV, "--endpoint", "https://streaming.invalid", env=env))
    assert "did not resolve" in err and "--ca" not in err


def test_refused_credentials_end_in_one_period(threaded_endpoint: LocalEndpoint) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "AKIDNOTKNOWN",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    err = one_line(cli("transcribe", FOX_WAV, "--endpoint", threaded_endpoint.http2_url, "--no-pacing", env=env))
    assert "refused the credentials" in err and ".." not in err


def test_duplicate_channel_roles_are_refused_before_connecting() -> None:
    # Port 9 has no endpoint: the refusal must come from the client, not a connection.
    err = one_line(
        cli(
            "transcribe",
            FIXTURES / "two-channel.flac",
            "--call-analytics",
            "--channel-roles",
            "AGENT,AGENT",
            "--endpoint",
            "http://127.0.0.1:9",
        )
    )
    assert "one AGENT, one CUSTOMER" in err and "cannot connect" not in err


def test_every_flag_with_a_default_says_it() -> None:
    text = cli("serve", "--help").stdout
    flat = " ".join(text.split())
    for flag, default in (("--port", "8443"), ("--ws-port", "8444"), ("--max-streams", "25"), ("--workers", "1")):
        assert re.search(rf"{flag} \S+ .*?\(default: {default}\)", flat), flag
    assert "(default: True)" not in flat and "(default: [])" not in flat
    assert "--no-page serve neither, even on loopback" in flat
    assert "default: on when --host is loopback" in flat


def test_a_malformed_credentials_value_is_not_echoed() -> None:
    err = one_line(cli("serve", "--no-tls", "--credentials", "AKIDEXAMPLE-wJalrXUtnFEMIsecret"))
    assert "--credentials" in err and "AKID:SECRET" in err
    assert "wJalrXUtnFEMIsecret" not in err and "AKIDEXAMPLE" not in err


async def test_escape_sequences_in_a_service_error_never_reach_the_terminal() -> None:
    import asyncio

    from streaming.proto.errors import BadRequestException
    from streaming.proto.messages import encode_exception
    from tests.streaming.aio.test_shell import HostileService

    hostile = BadRequestException("bad \x1b]0;owned\x07 audio \x1b[2J here")
    async with HostileService(encode_exception(hostile), end=True) as url:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "streaming.cli", "transcribe", str(FOX_WAV), "--endpoint", url, "--no-pacing"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(process.communicate(), 60)
    text = err.decode()
    assert process.returncode == 254
    assert "bad" in text and "here" in text
    assert "\x1b" not in text and "\x07" not in text


def test_swapped_or_mismatched_tls_files_are_named(tmp_path: Path) -> None:
    from streaming.local.tls import mint_self_signed

    one, other = mint_self_signed(), mint_self_signed()
    swapped = one_line(cli("serve", "--tls-cert", one.key_file, "--tls-key", one.cert_file, cwd=tmp_path))
    assert "they are swapped" in swapped and str(one.key_file) in swapped and "PEM lib" not in swapped
    mismatched = one_line(cli("serve", "--tls-cert", one.cert_file, "--tls-key", other.key_file, cwd=tmp_path))
    assert "does not belong to the certificate" in mismatched


def test_a_bad_language_is_an_error_without_the_english_only_note_first() -> None:
    err = one_line(cli("transcribe", FOX_WAV, "--language", "xx-YY", "--endpoint", "http://127.0.0.1:9"))
    assert "xx-YY" in err and "English only" not in err


def test_what_was_heard_before_an_error_is_printed() -> None:
    import io

    from streaming.cli.display import CaptionPrinter
    from streaming.proto.actions import StreamStats
    from streaming.proto.models import Alternative, Item, Result, Transcript, TranscriptEvent

    partial = TranscriptEvent(
        transcript=Transcript(
            results=(
                Result(
                    result_id="r1",
                    is_partial=True,
                    alternatives=(Alternative(transcript="the quick brown", items=(Item(content="the"),)),),
                ),
            )
        )
    )
    out, status = io.StringIO(), io.StringIO()
    printer = CaptionPrinter(out, tty=False, status=status)
    printer.event(partial, StreamStats())
    assert out.getvalue() == ""  # a partial is not a line yet...
    printer.abandon()  # ...and when the stream fails it is not lost, nor taken for a final:
    assert out.getvalue() == ""  # off a terminal the output holds finals only
    assert status.getvalue() == "unfinished when the stream ended: the quick brown\n"
