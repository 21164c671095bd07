"""Sign with botocore (test-only oracle) at a fixed clock."""

from __future__ import annotations

import datetime as dt
from unittest import mock

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from sigv4 import Credentials


def _boto(credentials: Credentials) -> BotoCredentials:
    return BotoCredentials(credentials.access_key_id, credentials.secret_access_key, credentials.session_token)


def _frozen(now: dt.datetime) -> mock._patch:  # type: ignore[type-arg]
    naive = now.astimezone(dt.UTC).replace(tzinfo=None)
    return mock.patch("botocore.auth.get_current_datetime", return_value=naive)


def botocore_authorization(
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    credentials: Credentials,
    region: str,
    service: str,
    now: dt.datetime,
    body: bytes = b"",
) -> str:
    request = AWSRequest(method=method, url=url, data=body)
    for name, value in headers:
        request.headers[name] = value  # HTTPHeaders keeps repeats
    with _frozen(now):
        SigV4Auth(_boto(credentials), service, region).add_auth(request)
    return str(request.headers["Authorization"])


def botocore_presign(
    method: str,
    url: str,
    credentials: Credentials,
    region: str,
    service: str,
    now: dt.datetime,
    expires: int,
) -> str:
    request = AWSRequest(method=method, url=url)
    with _frozen(now):
        SigV4QueryAuth(_boto(credentials), service, region, expires=expires).add_auth(request)
    return str(request.url)
