"""The verifier: accepts everything the signer produces and each client dialect;
rejects every single-byte change with the right reason."""

from __future__ import annotations

import datetime as dt
import hashlib
from urllib.parse import urlsplit

import pytest

import sigv4
from sigv4 import Credentials, presign_url, sign_headers, verify_presigned_request, verify_request

UTC = dt.UTC
NOW = dt.datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
KEYS = {CREDS.access_key_id: CREDS}
URL = "https://localhost:8443/stream-transcription"
HEADERS = {
    "content-type": "application/vnd.amazon.eventstream",
    "x-amz-content-sha256": sigv4.STREAMING_PAYLOAD,
    "x-amzn-transcribe-language-code": "en-US",
    "x-amzn-transcribe-sample-rate": "16000",
    "x-amzn-transcribe-media-encoding": "pcm",
}


def signed(headers: dict[str, str] = HEADERS, url: str = URL, creds: Credentials = CREDS) -> dict[str, str]:
    return sign_headers("POST", url, headers, credentials=creds, region="us-east-1", service="transcribe", now=NOW)


def as_h2(headers: dict[str, str], authority: str = "localhost:8443") -> list[tuple[str, str]]:
    return [
        (":method", "POST"),
        (":authority", authority),
        (":path", "/stream-transcription"),
        *headers.items(),
    ]


def check(headers, target="/stream-transcription", now=NOW, keys=KEYS, **kw):
    return verify_request("POST", target, headers, credentials=keys, now=now, **kw)


def test_round_trip_with_host_or_authority() -> None:
    headers = signed()
    result = check(as_h2(headers))
    assert result.access_key_id == "AKIDEXAMPLE"
    assert result.signature == sigv4.signature_from_authorization(headers["authorization"])
    assert check({**headers, "host": "localhost:8443"}, region="us-east-1", service="transcribe").presigned is False


def test_trailing_question_mark_on_the_path() -> None:
    check(as_h2(signed()), target="/stream-transcription?")


def test_authority_signed_by_name() -> None:
    # The JS SDK signs ":authority" itself rather than "host".
    headers = signed({**HEADERS, ":authority": "localhost:8443"})
    assert ":authority" in sigv4.parse_authorization(headers["authorization"]).signed_headers
    check(as_h2({k: v for k, v in headers.items() if k != ":authority"}))


def test_port_dropped_from_authority_is_used_verbatim() -> None:
    # amazon-transcribe signs and sends host without the port.
    headers = signed({**HEADERS, "host": "localhost"})
    check(as_h2({k: v for k, v in headers.items() if k != "host"}, authority="localhost"))
    with pytest.raises(sigv4.SignatureMismatchError):
        check(as_h2({k: v for k, v in headers.items() if k != "host"}, authority="localhost:8443"))


def test_absent_content_sha_means_empty_body_hash() -> None:
    plain = {k: v for k, v in HEADERS.items() if k != "x-amz-content-sha256"}
    headers = signed(plain)
    assert sigv4.sign_request(
        "POST", URL, plain, credentials=CREDS, region="us-east-1", service="transcribe", now=NOW
    ).canonical_request.endswith(hashlib.sha256(b"").hexdigest())
    check(as_h2(headers))


def test_session_token_must_match() -> None:
    temp = Credentials("ASIATEMP", "secret", "token-1")
    headers = signed(creds=temp)
    check(as_h2(headers), keys={"ASIATEMP": temp})
    with pytest.raises(sigv4.UnknownAccessKeyError):
        check(as_h2(headers), keys={"ASIATEMP": Credentials("ASIATEMP", "secret", "token-2")})


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda h: h.pop("authorization"), sigv4.MissingAuthError),
        (lambda h: h.update(authorization="Bearer abc"), sigv4.MalformedAuthError),
        (lambda h: h.pop("x-amz-date"), sigv4.MalformedAuthError),
        (lambda h: h.update({"x-amz-date": "2024-06-01"}), sigv4.MalformedAuthError),
        (lambda h: h.pop("x-amzn-transcribe-sample-rate"), sigv4.MalformedAuthError),
        (
            lambda h: h.update({"x-amzn-transcribe-sample-rate": "8000"}),
            sigv4.SignatureMismatchError,
        ),
        (lambda h: h.update({"x-amz-date": "20240601T120001Z"}), sigv4.SignatureMismatchError),
        (lambda h: h.update({"x-amz-date": "20240602T120000Z"}), sigv4.ScopeMismatchError),
    ],
)
def test_rejections_say_what_failed(mutate, error) -> None:
    headers = signed()
    mutate(headers)
    with pytest.raises(error):
        check(as_h2(headers))


def test_every_single_byte_change_is_rejected() -> None:
    headers = signed()
    for name, value in headers.items():
        for at in range(len(value)):
            changed = value[:at] + chr(ord(value[at]) ^ 0x01) + value[at + 1 :]
            if " ".join(changed.split()) == " ".join(value.split()):
                continue  # whitespace folding: the same canonical value
            with pytest.raises(sigv4.VerificationError):
                check(as_h2({**headers, name: changed}))
    for at in range(1, len("/stream-transcription")):
        target = "/stream-transcription"
        changed = target[:at] + chr(ord(target[at]) ^ 0x01) + target[at + 1 :]
        with pytest.raises(sigv4.VerificationError):
            check(as_h2(headers), target=changed)


def test_unknown_key_and_wrong_secret() -> None:
    headers = signed()
    with pytest.raises(sigv4.UnknownAccessKeyError, match="AKIDEXAMPLE") as info:
        check(as_h2(headers), keys={})
    assert info.value.reason == "unknown-key"
    with pytest.raises(sigv4.SignatureMismatchError, match="does not match"):
        check(as_h2(headers), keys={"AKIDEXAMPLE": Credentials("AKIDEXAMPLE", "wrong")})
    # A function works as the lookup too.
    check(as_h2(headers), keys=KEYS.get)


def test_clock_skew_both_ways() -> None:
    headers = signed()
    with pytest.raises(sigv4.ClockSkewError, match="Signature expired") as info:
        check(as_h2(headers), now=NOW + dt.timedelta(minutes=5, seconds=1))
    assert info.value.skew_seconds == pytest.approx(-301)
    with pytest.raises(sigv4.ClockSkewError, match="not yet current"):
        check(as_h2(headers), now=NOW - dt.timedelta(minutes=6))
    check(as_h2(headers), now=NOW + dt.timedelta(minutes=4, seconds=59))


def test_scope_region_and_service() -> None:
    with pytest.raises(sigv4.ScopeMismatchError, match="region"):
        check(as_h2(signed()), region="eu-west-1")
    with pytest.raises(sigv4.ScopeMismatchError, match="service"):
        check(as_h2(signed()), service="s3")


# -- presigned URLs --------------------------------------------------------------------------

WS_URL = "wss://localhost:8443/stream-transcription-websocket?language-code=en-US&media-encoding=pcm&sample-rate=16000"


def presigned(expires: int = 300, creds: Credentials = CREDS, url: str = WS_URL) -> str:
    return presign_url(
        "GET",
        url,
        credentials=creds,
        region="us-east-1",
        service="transcribe",
        now=NOW,
        expires=expires,
    )


def check_url(url: str, now=NOW, keys=KEYS, host="localhost:8443", **kw):
    parts = urlsplit(url)
    return verify_presigned_request(
        "GET", f"{parts.path}?{parts.query}", {"host": host}, credentials=keys, now=now, **kw
    )


def test_presigned_round_trip() -> None:
    url = presigned()
    result = check_url(url, region="us-east-1", service="transcribe")
    assert result.presigned
    assert result.signature == sigv4.signature_from_presigned_url(url)


def test_presigned_with_session_token() -> None:
    temp = Credentials("ASIATEMP", "secret", "tok/en+=")
    check_url(presigned(creds=temp), keys={"ASIATEMP": temp})


def test_presigned_expiry_and_bounds() -> None:
    with pytest.raises(sigv4.ExpiredError, match="expired"):
        check_url(presigned(expires=60), now=NOW + dt.timedelta(seconds=61))
    check_url(presigned(expires=60), now=NOW + dt.timedelta(seconds=60))
    with pytest.raises(sigv4.InvalidExpiresError, match="1 to 300"):
        check_url(presigned(expires=301))
    with pytest.raises(sigv4.ClockSkewError, match="not yet current"):
        check_url(presigned(), now=NOW - dt.timedelta(minutes=6))


def test_presigned_rejections() -> None:
    url = presigned()
    with pytest.raises(sigv4.MissingAuthError):
        check_url("wss://localhost:8443/stream-transcription-websocket?language-code=en-US")
    with pytest.raises(sigv4.MalformedAuthError, match="lacks X-Amz-Signature"):
        check_url(url.split("&X-Amz-Signature")[0])
    with pytest.raises(sigv4.MalformedAuthError, match="more than once"):
        check_url(url + "&X-Amz-Date=20240601T120000Z")
    with pytest.raises(sigv4.SignatureMismatchError):
        check_url(url.replace("sample-rate=16000", "sample-rate=8000"))
    with pytest.raises(sigv4.SignatureMismatchError):
        check_url(url, host="localhost")  # the host includes the port when signed with it
    with pytest.raises(sigv4.UnknownAccessKeyError):
        check_url(url, keys={})


def test_every_single_byte_change_to_a_presigned_url_is_rejected() -> None:
    url = presigned()
    parts = urlsplit(url)
    query = parts.query
    for at in range(len(query)):
        changed = query[:at] + chr(ord(query[at]) ^ 0x01) + query[at + 1 :]
        target = f"{parts.path}?{changed}"
        with pytest.raises(sigv4.VerificationError):
            verify_presigned_request("GET", target, {"host": "localhost:8443"}, credentials=KEYS, now=NOW)
