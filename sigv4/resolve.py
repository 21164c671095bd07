"""Finding credentials: the one place in :mod:`sigv4` that reads the environment and files.

Order, first hit wins (the AWS CLI's order for the sources it shares with us):

1. explicit ``access_key_id`` / ``secret_access_key`` (/ ``session_token``) arguments;
2. ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``, unless a
   profile was named explicitly;
3. the shared credentials file (``AWS_SHARED_CREDENTIALS_FILE``, default
   ``~/.aws/credentials``), section ``[profile]``;
4. the config file (``AWS_CONFIG_FILE``, default ``~/.aws/config``), section
   ``[profile NAME]`` (``[default]`` for the default): static keys, then
   ``credential_process``;
5. when botocore is installed, its credential chain for the profile (SSO, assume-role,
   container and instance metadata), as a last resort.

The profile is the ``profile`` argument, else ``AWS_PROFILE`` (``AWS_DEFAULT_PROFILE``),
else ``default``.
"""

from __future__ import annotations

import configparser
import dataclasses
import datetime as _dt
import json
import os
import shlex
import subprocess
from collections.abc import Mapping
from pathlib import Path

from .credentials import Credentials
from .errors import CredentialsError, NoCredentialsError, ProfileNotFoundError

__all__ = ["resolve_credentials"]

_PROCESS_TIMEOUT = 60.0


def resolve_credentials(
    profile: str | None = None,
    *,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    session_token: str | None = None,
    environ: Mapping[str, str] | None = None,
    use_botocore: bool = True,
) -> Credentials:
    """Find credentials as described in the module docstring.

    ``environ`` defaults to ``os.environ`` (tests pass their own). Raises
    :class:`~sigv4.errors.NoCredentialsError` listing every place searched, or
    :class:`~sigv4.errors.CredentialsError` when a source is present but broken (a half
    key pair, an unreadable file, a failing ``credential_process``).
    """
    env = os.environ if environ is None else environ
    searched: list[str] = []

    if access_key_id is not None or secret_access_key is not None:
        if not access_key_id or not secret_access_key:
            raise CredentialsError("explicit credentials need both access_key_id and secret_access_key")
        return Credentials(access_key_id, secret_access_key, session_token, source="explicit arguments")
    searched.append("explicit arguments")

    if profile is None:
        env_key, env_secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
        if env_key or env_secret:
            if not env_key or not env_secret:
                raise CredentialsError(
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together "
                    f"(only {'AWS_ACCESS_KEY_ID' if env_key else 'AWS_SECRET_ACCESS_KEY'} is)"
                )
            return Credentials(
                env_key,
                env_secret,
                env.get("AWS_SESSION_TOKEN") or None,
                source="AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
            )
        searched.append("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
    name = profile or env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or "default"

    home = Path(env.get("HOME", "~")).expanduser()
    credentials_file = Path(env.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials").expanduser()
    section = _read_section(credentials_file, name)
    if section is not None:
        where = f"{credentials_file} [{name}]"
        found = _from_section(section, where)
        if found is not None:
            return dataclasses.replace(found, source=where)
    searched.append(f"{credentials_file} [{name}]")

    config_file = Path(env.get("AWS_CONFIG_FILE") or home / ".aws" / "config").expanduser()
    config_name = name if name == "default" else f"profile {name}"
    section = _read_section(config_file, config_name)
    if section is None and name == "default":
        section = _read_section(config_file, "profile default")
    if section is not None:
        where = f"{config_file} [{config_name}]"
        found = _from_section(section, where)
        if found is not None:
            return dataclasses.replace(found, source=where)
        if section.get("credential_process"):
            return dataclasses.replace(
                _run_process(section["credential_process"], where), source=f"{where} credential_process"
            )
    searched.append(f"{config_file} [{config_name}] (keys, credential_process)")
    named = profile or env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE")
    if named and section is None and _read_section(credentials_file, name) is None:
        raise ProfileNotFoundError(named, [str(credentials_file), str(config_file)])

    if use_botocore:
        found = _from_botocore(name if profile or "AWS_PROFILE" in env else None)
        if found is not None:
            return dataclasses.replace(found, source="botocore's credential chain")
        searched.append("botocore's credential chain (SSO, assume-role, metadata)")
    raise NoCredentialsError(searched, profile=named or None)


def _read_section(path: Path, name: str) -> Mapping[str, str] | None:
    if not path.is_file():
        return None
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        # Never the offending text: the broken line may be the secret itself.
        raise CredentialsError(f"cannot read {path}: {_where(exc)}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialsError(f"cannot read {path}: {exc}") from exc
    if not parser.has_section(name):
        return None
    return dict(parser.items(name))


def _where(exc: configparser.Error) -> str:
    """A parse error described by line numbers and kind, without the file's text."""
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return f"line {exc.lineno} comes before any [section]"
    if isinstance(exc, configparser.ParsingError):
        lines = ", ".join(str(lineno) for lineno, _ in exc.errors)
        return f"line {lines} is not 'name = value' or a [section]"
    if isinstance(exc, configparser.DuplicateOptionError | configparser.DuplicateSectionError):
        what = "option" if isinstance(exc, configparser.DuplicateOptionError) else "section"
        return f"a duplicate {what} at line {exc.lineno}"
    return "it is not an INI file"


def _from_section(section: Mapping[str, str], where: str) -> Credentials | None:
    key, secret = section.get("aws_access_key_id"), section.get("aws_secret_access_key")
    if not key and not secret:
        return None
    if not key or not secret:
        raise CredentialsError(f"{where} has only one of aws_access_key_id / aws_secret_access_key")
    return Credentials(key, secret, section.get("aws_session_token") or None)


def _run_process(command: str, where: str) -> Credentials:
    """Run a ``credential_process`` and parse its JSON (Version 1)."""
    try:
        done = subprocess.run(  # noqa: S603 - the user's own configured command
            shlex.split(command),
            capture_output=True,
            timeout=_PROCESS_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        raise CredentialsError(f"credential_process in {where} could not run: {exc}") from exc
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace").strip()
        raise CredentialsError(f"credential_process in {where} exited with {done.returncode}: {stderr}")
    try:
        data = json.loads(done.stdout)
        if data.get("Version") != 1:
            raise ValueError(f"Version must be 1, got {data.get('Version')!r}")
        expiration = data.get("Expiration")
        return Credentials(
            data["AccessKeyId"],
            data["SecretAccessKey"],
            data.get("SessionToken") or None,
            _dt.datetime.fromisoformat(expiration.replace("Z", "+00:00")) if expiration else None,
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CredentialsError(f"credential_process in {where} printed unusable JSON: {exc}") from exc


def _from_botocore(profile: str | None) -> Credentials | None:
    try:
        import botocore.exceptions  # noqa: PLC0415 - optional, imported only when needed
        import botocore.session  # noqa: PLC0415
    except ImportError:
        return None
    try:
        session = botocore.session.Session(profile=profile)
        found = session.get_credentials()
    except botocore.exceptions.BotoCoreError as exc:
        raise CredentialsError(f"botocore could not resolve credentials: {exc}") from exc
    if found is None:
        return None
    frozen = found.get_frozen_credentials()
    expiry = getattr(found, "_expiry_time", None)
    return Credentials(frozen.access_key, frozen.secret_key, frozen.token or None, expiry)
