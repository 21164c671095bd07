"""Credentials resolution over real files, a real credential_process and botocore's chain."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

import sigv4
from sigv4 import Credentials, CredentialsError, resolve_credentials


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """An environment whose HOME has no ~/.aws at all."""
    return {"HOME": str(tmp_path)}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_explicit_values_win(home) -> None:
    env = {**home, "AWS_ACCESS_KEY_ID": "ENV", "AWS_SECRET_ACCESS_KEY": "envsecret"}
    found = resolve_credentials(access_key_id="EXPLICIT", secret_access_key="s", session_token="t", environ=env)
    assert found == Credentials("EXPLICIT", "s", "t")
    with pytest.raises(sigv4.CredentialsError, match="both"):
        resolve_credentials(access_key_id="ONLY", environ=env)


def test_environment_variables(home) -> None:
    env = {
        **home,
        "AWS_ACCESS_KEY_ID": "ENV",
        "AWS_SECRET_ACCESS_KEY": "s",
        "AWS_SESSION_TOKEN": "t",
    }
    assert resolve_credentials(environ=env) == Credentials("ENV", "s", "t")
    with pytest.raises(sigv4.CredentialsError, match="must be set together"):
        resolve_credentials(environ={**home, "AWS_ACCESS_KEY_ID": "ENV"})


def test_shared_credentials_file_and_profiles(home, tmp_path) -> None:
    write(
        tmp_path / ".aws" / "credentials",
        "[default]\naws_access_key_id = DEF\naws_secret_access_key = defsecret\n\n"
        "[work]\naws_access_key_id = WORK\naws_secret_access_key = worksecret\naws_session_token = tok\n",
    )
    assert resolve_credentials(environ=home, use_botocore=False) == Credentials("DEF", "defsecret")
    assert resolve_credentials("work", environ=home, use_botocore=False) == Credentials("WORK", "worksecret", "tok")
    assert resolve_credentials(environ={**home, "AWS_PROFILE": "work"}, use_botocore=False).access_key_id == "WORK"
    # A named profile skips the environment variables.
    env = {**home, "AWS_ACCESS_KEY_ID": "ENV", "AWS_SECRET_ACCESS_KEY": "s"}
    assert resolve_credentials("work", environ=env, use_botocore=False).access_key_id == "WORK"
    assert resolve_credentials(environ=env, use_botocore=False).access_key_id == "ENV"


def test_files_named_by_environment(home, tmp_path) -> None:
    creds = write(tmp_path / "elsewhere" / "creds", "[p]\naws_access_key_id = A\naws_secret_access_key = B\n")
    env = {**home, "AWS_SHARED_CREDENTIALS_FILE": str(creds)}
    assert resolve_credentials("p", environ=env, use_botocore=False) == Credentials("A", "B")
    config = write(
        tmp_path / "elsewhere" / "config",
        "[profile q]\naws_access_key_id = C\naws_secret_access_key = D\n",
    )
    env = {**home, "AWS_CONFIG_FILE": str(config)}
    assert resolve_credentials("q", environ=env, use_botocore=False) == Credentials("C", "D")


def test_config_file_default_section(home, tmp_path) -> None:
    write(
        tmp_path / ".aws" / "config",
        "[default]\naws_access_key_id = C\naws_secret_access_key = D\n",
    )
    assert resolve_credentials(environ=home, use_botocore=False) == Credentials("C", "D")


def test_credential_process(home, tmp_path) -> None:
    script = write(
        tmp_path / "creds.py",
        "import json\nprint(json.dumps({'Version': 1, 'AccessKeyId': 'PROC', 'SecretAccessKey': 'psecret',"
        " 'SessionToken': 'ptoken', 'Expiration': '2030-01-02T03:04:05Z'}))\n",
    )
    write(
        tmp_path / ".aws" / "config",
        f"[profile proc]\ncredential_process = {sys.executable} {script}\n",
    )
    found = resolve_credentials("proc", environ=home, use_botocore=False)
    assert found == Credentials("PROC", "psecret", "ptoken")
    assert found.expiration == dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert found.expires_within(dt.datetime(2030, 1, 2, 3, 0, 0, tzinfo=dt.UTC), 3600)
    assert not found.expires_within(dt.datetime(2030, 1, 2, 1, 0, 0, tzinfo=dt.UTC), 3600)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("import sys; sys.exit(3)", "exited with 3"),
        ("print('not json')", "unusable JSON"),
        ("print('{\"Version\": 2}')", "Version must be 1"),
        ("print('{\"Version\": 1}')", "AccessKeyId"),
    ],
)
def test_broken_credential_process(home, tmp_path, body, match) -> None:
    script = write(tmp_path / "bad.py", body + "\n")
    write(
        tmp_path / ".aws" / "config",
        f"[profile bad]\ncredential_process = {sys.executable} {script}\n",
    )
    with pytest.raises(sigv4.CredentialsError, match=match):
        resolve_credentials("bad", environ=home, use_botocore=False)


def test_half_a_key_pair_in_a_file(home, tmp_path) -> None:
    write(tmp_path / ".aws" / "credentials", "[default]\naws_access_key_id = ONLY\n")
    with pytest.raises(sigv4.CredentialsError, match="only one of"):
        resolve_credentials(environ=home, use_botocore=False)


def test_unreadable_file(home, tmp_path) -> None:
    write(tmp_path / ".aws" / "credentials", "this is not an ini file\n[")
    with pytest.raises(sigv4.CredentialsError, match="cannot read"):
        resolve_credentials(environ=home, use_botocore=False)


def test_nothing_found_lists_where_it_looked(home, tmp_path) -> None:
    with pytest.raises(sigv4.NoCredentialsError) as info:
        resolve_credentials(environ=home, use_botocore=False)
    text = str(info.value)
    assert "AWS_ACCESS_KEY_ID" in text
    assert str(tmp_path / ".aws" / "credentials") in text
    assert "credential_process" in text
    assert len(info.value.searched) == 4


def test_botocore_chain_is_the_last_resort(home, tmp_path, monkeypatch) -> None:
    # Our own sources see an empty environment; botocore reads the process environment.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "BOTO")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "botosecret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_credentials(environ=home) == Credentials("BOTO", "botosecret")


def test_repr_never_shows_secrets() -> None:
    creds = Credentials("AKIDEXAMPLE", "SECRETSECRET", "TOKENTOKEN")
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert "SECRETSECRET" not in text
        assert "TOKENTOKEN" not in text
        assert "AKIDEXAMPLE" in text


def test_credentials_validation() -> None:
    with pytest.raises(ValueError, match="access_key_id"):
        Credentials("", "s")
    with pytest.raises(ValueError, match="secret_access_key"):
        Credentials("a", "")
    with pytest.raises(ValueError, match="timezone"):
        Credentials("a", "s", None, dt.datetime(2030, 1, 1))


def test_expiration_does_not_affect_identity() -> None:
    later = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert Credentials("a", "s", "t", later) == Credentials("a", "s", "t")
    with pytest.raises(AttributeError):
        Credentials("a", "s").secret_access_key = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[default]\naws_access_key_id = AKID\naws_secret_access_key SECRET-IN-A-BROKEN-LINE\n", "line 3"),
        ("aws_secret_access_key = SECRET-IN-A-BROKEN-LINE\n[default]\n", "line 1"),
        ("[default]\naws_secret_access_key = a\naws_secret_access_key = SECRET-IN-A-BROKEN-LINE\n", "line 3"),
    ],
)
def test_a_broken_credentials_file_never_shows_its_lines(tmp_path, text: str, where: str) -> None:
    path = tmp_path / "credentials"
    path.write_text(text)
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(path), "AWS_CONFIG_FILE": str(tmp_path / "none"), "HOME": str(tmp_path)}
    with pytest.raises(CredentialsError) as info:
        resolve_credentials(environ=env, use_botocore=False)
    assert str(path) in str(info.value) and where in str(info.value)
    assert "SECRET" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__  # not in a --debug traceback either
