"""sign_headers and presign_url against botocore's signers, over random requests."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sigv4
from sigv4 import Credentials, presign_url, sign_headers

from .botocore_oracle import botocore_authorization, botocore_presign

UTC = dt.UTC


def enc(text: str) -> str:
    return quote(text, safe="-_.~")


credentials = st.builds(
    Credentials,
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=16, max_size=20),
    st.text(
        st.characters(codec="ascii", categories=["L", "N"]) | st.sampled_from("/+="),
        min_size=20,
        max_size=40,
    ),
    st.none()
    | st.text(
        st.characters(codec="ascii", categories=["L", "N"]) | st.sampled_from("/+="),
        min_size=1,
        max_size=60,
    ),
)
times = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2090, 1, 1), timezones=st.just(UTC))
regions = st.sampled_from(["us-east-1", "eu-central-1", "ap-northeast-3", "us-gov-west-1"])
methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"])
segment = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="/?#"), min_size=1, max_size=8)
paths = st.lists(st.one_of(segment, st.sampled_from([".", "..", ""])), max_size=5).map(
    lambda segs: "/" + "/".join(enc(s) if s not in (".", "..") else s for s in segs)
)
query_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)
queries = st.lists(
    st.tuples(st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=8), query_text),
    max_size=5,
)
hosts = st.sampled_from(["transcribestreaming.us-east-1.amazonaws.com", "localhost", "127.0.0.1", "Example.COM"])
ports = st.sampled_from([None, 443, 8443, 8080])
header_names = st.from_regex(r"\A[a-z][a-z0-9-]{0,15}\Z").filter(
    lambda n: (
        n
        not in (
            "host",
            "authorization",
            "x-amz-date",
            "x-amz-security-token",
            "x-amz-content-sha256",
        )
        and n not in sigv4.canonical.UNSIGNED_HEADERS
    )
)
header_values = st.text(st.sampled_from("abc XYZ019-_.:;/=  \t"), max_size=16)


def build_url(host: str, port: int | None, path: str, query: list[tuple[str, str]]) -> str:
    netloc = host if port is None else f"{host}:{port}"
    qs = "&".join(f"{enc(k)}={enc(v)}" for k, v in query)
    return f"https://{netloc}{path}" + (f"?{qs}" if qs else "")


@given(
    methods,
    hosts,
    ports,
    paths,
    queries,
    st.lists(st.tuples(header_names, header_values), max_size=5),
    credentials,
    regions,
    times,
    st.binary(max_size=32),
)
@settings(max_examples=300)
def test_sign_headers_matches_botocore(method, host, port, path, query, headers, creds, region, now, body) -> None:
    url = build_url(host, port, path, query)
    # Repeated names are folded into one comma-joined value on both sides.
    joined: dict[str, str] = {}
    for name, value in headers:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    ours = sign_headers(
        method,
        url,
        joined,
        credentials=creds,
        region=region,
        service="transcribe",
        now=now,
        body=body,
    )
    theirs = botocore_authorization(method, url, list(joined.items()), creds, region, "transcribe", now, body)
    assert ours["authorization"] == theirs
    assert ours["x-amz-date"] == f"{now:%Y%m%dT%H%M%SZ}"
    assert ours.get("x-amz-security-token") == creds.session_token


@given(
    methods,
    hosts,
    ports,
    paths,
    queries.map(lambda q: list(dict(q).items())),
    credentials,
    regions,
    times,
    st.integers(1, 604800),
)
@settings(max_examples=300)
def test_presign_url_matches_botocore(method, host, port, path, query, creds, region, now, expires) -> None:
    url = build_url(host, port, path, query)
    ours = presign_url(
        method,
        url,
        credentials=creds,
        region=region,
        service="transcribe",
        now=now,
        expires=expires,
    )
    theirs = botocore_presign(method, url, creds, region, "transcribe", now, expires)
    assert sigv4.signature_from_presigned_url(ours) == sigv4.signature_from_presigned_url(theirs)
    # Same parameters on both URLs, ours in canonical order.
    assert sorted(sigv4.canonical.parse_query(urlsplit(ours).query)) == sorted(
        sigv4.canonical.parse_query(urlsplit(theirs).query)
    )


def test_streaming_payload_hash_is_used_verbatim() -> None:
    now = dt.datetime(2024, 1, 1, tzinfo=UTC)
    creds = Credentials("AKIDEXAMPLE", "secret")
    url = "https://transcribestreaming.us-east-1.amazonaws.com/stream-transcription"
    headers = {"x-amz-content-sha256": sigv4.STREAMING_PAYLOAD}
    signed = sigv4.sign_request(
        "POST", url, headers, credentials=creds, region="us-east-1", service="transcribe", now=now
    )
    assert signed.canonical_request.endswith("\n" + sigv4.STREAMING_PAYLOAD)
    theirs = botocore_authorization("POST", url, list(headers.items()), creds, "us-east-1", "transcribe", now)
    assert signed.headers["authorization"] == theirs
    explicit = sigv4.sign_request(
        "POST",
        url,
        {},
        credentials=creds,
        region="us-east-1",
        service="transcribe",
        now=now,
        payload_hash=sigv4.UNSIGNED_PAYLOAD,
    )
    assert explicit.canonical_request.endswith("\nUNSIGNED-PAYLOAD")


def test_presign_encodes_commas_and_spaces_rfc3986() -> None:
    now = dt.datetime(2024, 1, 1, tzinfo=UTC)
    url = presign_url(
        "GET",
        "wss://transcribestreaming.us-east-1.amazonaws.com:8443/stream-transcription-websocket"
        "?language-options=en-US,de-DE&vocabulary-name=a%20b",
        credentials=Credentials("AKIDEXAMPLE", "secret"),
        region="us-east-1",
        service="transcribe",
        now=now,
        expires=300,
    )
    assert "language-options=en-US%2Cde-DE" in url
    assert "vocabulary-name=a%20b" in url
    assert "+" not in url
    assert "X-Amz-SignedHeaders=host&" in url


def test_host_keeps_only_non_default_ports() -> None:
    assert sigv4.canonical_host("https://h.example:443/x") == "h.example"
    assert sigv4.canonical_host("wss://h.example:443/x") == "h.example"
    assert sigv4.canonical_host("wss://h.example:8443/x") == "h.example:8443"
    assert sigv4.canonical_host("http://H.Example:80/") == "h.example"
    assert sigv4.canonical_host("http://[::1]:8080/") == "[::1]:8080"


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda c, n: sign_headers("GET", "ftp://h/", {}, credentials=c, region="r", service="s", now=n),
            "scheme",
        ),
        (
            lambda c, n: sign_headers("GET", "https:///x", {}, credentials=c, region="r", service="s", now=n),
            "no host",
        ),
        (
            lambda c, n: sign_headers("GET", "https://h:99999/", {}, credentials=c, region="r", service="s", now=n),
            "(?i)port",
        ),
        (
            lambda c, n: sign_headers(
                "GET",
                "https://h/",
                {"a": "x\r\nb: y"},
                credentials=c,
                region="r",
                service="s",
                now=n,
            ),
            "line break",
        ),
        (
            lambda c, n: sign_headers(
                "GET",
                "https://h/",
                {},
                credentials=c,
                region="r",
                service="s",
                now=n.replace(tzinfo=None),
            ),
            "naive",
        ),
        (
            lambda c, n: presign_url("GET", "https://h/", credentials=c, region="r", service="s", now=n, expires=0),
            "expires",
        ),
        (
            lambda c, n: presign_url(
                "GET", "https://h/", credentials=c, region="r", service="s", now=n, expires=604801
            ),
            "expires",
        ),
        (
            lambda c, n: presign_url(
                "GET",
                "https://h/?X-Amz-Signature=1",
                credentials=c,
                region="r",
                service="s",
                now=n,
                expires=5,
            ),
            "already",
        ),
        (
            lambda c, n: presign_url(
                "GET",
                "https://h/",
                credentials=c,
                region="r",
                service="s",
                now=n,
                expires=5,
                signed_headers=("host", "x-a"),
            ),
            "no value",
        ),
        (
            lambda c, n: sign_headers("GET", "https://h/?a=%ff", {}, credentials=c, region="r", service="s", now=n),
            "utf-8",
        ),
    ],
)
def test_signing_errors(call, match) -> None:
    with pytest.raises(sigv4.SigningError, match=match):
        call(Credentials("AKID", "secret"), dt.datetime(2024, 1, 1, tzinfo=UTC))


def test_signing_errors_are_value_errors() -> None:
    assert issubclass(sigv4.SigningError, ValueError)


def test_signature_extraction() -> None:
    now = dt.datetime(2024, 1, 1, tzinfo=UTC)
    creds = Credentials("AKID", "secret")
    signed = sigv4.sign_request("POST", "https://h/", {}, credentials=creds, region="r", service="s", now=now)
    assert sigv4.signature_from_authorization(signed.headers["authorization"]) == signed.signature
    auth = sigv4.parse_authorization(signed.headers["authorization"])
    assert (auth.access_key_id, auth.datestamp, auth.region, auth.service) == (
        "AKID",
        "20240101",
        "r",
        "s",
    )
    for bad in (
        "",
        "Bearer x",
        "AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=zz",
    ):
        with pytest.raises(sigv4.MalformedAuthError):
            sigv4.signature_from_authorization(bad)
    with pytest.raises(sigv4.MalformedAuthError):
        sigv4.signature_from_presigned_url("https://h/?a=b")


@pytest.mark.parametrize(
    ("headers", "match"),
    [
        ({"a:b": "x"}, "not a valid HTTP header name"),
        ({"": "x"}, "not a valid HTTP header name"),
        ({"a\nb": "x"}, "not a valid HTTP header name"),
        ({"a": 1}, "must be str"),
        ({"a": "x\ry"}, "line break"),
    ],
)
def test_bad_headers_are_refused(headers, match) -> None:
    with pytest.raises(sigv4.SigningError, match=match):
        sign_headers(
            "GET",
            "https://h/",
            headers,
            credentials=Credentials("AKID", "secret"),
            region="r",
            service="s",
            now=dt.datetime(2024, 1, 1, tzinfo=UTC),
        )
