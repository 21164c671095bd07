"""SigV4: ours beside amazon_transcribe, botocore, awscrt and aws_sdk_signers.

Cases (issue 3):
(a) one audio frame from raw audio to signed wire bytes (inner encode + sign + outer
    encode), 3200-byte payload;
(b) sign_headers on a small POST, and presign_url, against botocore's SigV4Auth /
    SigV4QueryAuth and awscrt's C signer called from Python.
Floors: sha256 of 3200 bytes and one HMAC-SHA256.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import importlib
from unittest import mock

import eventstream
import sigv4

from ._harness import Row, per_call, print_table, verdict
from .codec import AUDIO, AUDIO_HEADERS

NOW = dt.datetime(2024, 6, 1, 12, 0, 0, 250000, tzinfo=dt.UTC)
AKID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
CREDS = sigv4.Credentials(AKID, SECRET)
REGION, SERVICE = "us-east-1", "transcribe"
URL = "https://transcribestreaming.us-east-1.amazonaws.com/stream-transcription"
WS_URL = (
    "https://transcribestreaming.us-east-1.amazonaws.com:8443/stream-transcription-websocket"
    "?language-code=en-US&media-encoding=pcm&sample-rate=16000"
)
HEADERS = {
    "content-type": "application/vnd.amazon.eventstream",
    "x-amz-content-sha256": sigv4.STREAMING_PAYLOAD,
    "x-amzn-transcribe-language-code": "en-US",
    "x-amzn-transcribe-sample-rate": "16000",
    "x-amzn-transcribe-media-encoding": "pcm",
}
SEED = "0" * 64


def _optional(module: str) -> object | None:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def frame_rows() -> list[Row]:
    case = "(a) audio frame -> signed wire (3200 B)"
    signer = sigv4.EventSigner(CREDS, REGION, SERVICE, SEED)

    def ours() -> bytes:
        return signer.sign(eventstream.encode(AUDIO_HEADERS, AUDIO), NOW)

    rows = [Row(case, "streamscribe", per_call(ours))]
    at = _optional("amazon_transcribe.eventstream")
    if at is not None:
        from amazon_transcribe.auth import Credentials as AtCredentials

        serializer = at.EventStreamMessageSerializer()  # type: ignore[attr-defined]
        at_signer = at.EventSigner(SERVICE, REGION, utc_now=lambda: NOW)  # type: ignore[attr-defined]
        at_creds = AtCredentials(AKID, SECRET)
        prior = [bytes(32)]

        def theirs() -> bytes:
            inner = serializer.serialize(AUDIO_HEADERS, AUDIO)
            headers = at_signer.sign(inner, prior[0], at_creds)
            prior[0] = headers[":chunk-signature"]
            return serializer.serialize(headers, inner)  # type: ignore[no-any-return]

        rows.append(Row(case, "amazon_transcribe EventSigner", per_call(theirs)))
    else:
        rows.append(Row(case, "amazon_transcribe EventSigner", None, "not installed"))
    rows.append(_aws_sdk_signers_row(case))
    key = hashlib.sha256(b"k").digest()
    rows.append(Row(case, "floor: sha256(3200 B)", per_call(lambda: hashlib.sha256(AUDIO).digest())))
    rows.append(Row(case, "floor: one hmac.digest", per_call(lambda: hmac.digest(key, b"x" * 200, "sha256"))))
    return rows


def _aws_sdk_signers_row(case: str) -> Row:
    if _optional("aws_sdk_signers") is None:
        return Row(case, "aws_sdk_signers", None, "not installable here (needs Python >= 3.12)")
    return Row(case, "aws_sdk_signers", None, "installed; no frame API compared yet")


def request_rows() -> list[Row]:
    rows = []
    case = "(b) sign_headers, small POST"
    rows.append(
        Row(
            case,
            "streamscribe",
            per_call(
                lambda: sigv4.sign_headers(
                    "POST", URL, HEADERS, credentials=CREDS, region=REGION, service=SERVICE, now=NOW
                )
            ),
        )
    )
    presign_case = "(b) presign_url, WebSocket"
    ours_presign = per_call(
        lambda: sigv4.presign_url(
            "GET", WS_URL, credentials=CREDS, region=REGION, service=SERVICE, now=NOW, expires=300
        )
    )
    botocore_auth = _optional("botocore.auth")
    if botocore_auth is not None:
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials as BotoCredentials

        boto_creds = BotoCredentials(AKID, SECRET)
        naive = NOW.replace(tzinfo=None)
        with mock.patch("botocore.auth.get_current_datetime", return_value=naive):

            def boto_sign() -> None:
                request = AWSRequest(method="POST", url=URL, headers=dict(HEADERS), data=b"")
                botocore_auth.SigV4Auth(boto_creds, SERVICE, REGION).add_auth(request)  # type: ignore[attr-defined]

            def boto_presign() -> None:
                request = AWSRequest(method="GET", url=WS_URL)
                botocore_auth.SigV4QueryAuth(boto_creds, SERVICE, REGION, expires=300).add_auth(request)  # type: ignore[attr-defined]

            rows.append(Row(case, "botocore SigV4Auth", per_call(boto_sign), "incl. AWSRequest"))
            boto_presign_time = per_call(boto_presign)
    else:
        rows.append(Row(case, "botocore SigV4Auth", None, "not installed"))
        boto_presign_time = None
    rows.append(_awscrt_row(case))
    rows.append(Row(presign_case, "streamscribe", ours_presign))
    rows.append(Row(presign_case, "botocore SigV4QueryAuth", boto_presign_time, "incl. AWSRequest"))
    return rows


def _awscrt_row(case: str) -> Row:
    auth = _optional("awscrt.auth")
    http = _optional("awscrt.http")
    if auth is None or http is None:
        return Row(case, "awscrt aws_sign_request", None, "not installed")
    provider = auth.AwsCredentialsProvider.new_static(AKID, SECRET)  # type: ignore[attr-defined]
    config = auth.AwsSigningConfig(  # type: ignore[attr-defined]
        algorithm=auth.AwsSigningAlgorithm.V4,  # type: ignore[attr-defined]
        signature_type=auth.AwsSignatureType.HTTP_REQUEST_HEADERS,  # type: ignore[attr-defined]
        credentials_provider=provider,
        region=REGION,
        service=SERVICE,
        date=NOW,
        signed_body_value=sigv4.STREAMING_PAYLOAD,
        signed_body_header_type=auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256,  # type: ignore[attr-defined]
    )
    host = "transcribestreaming.us-east-1.amazonaws.com"

    def crt_sign() -> None:
        plain = [(k, v) for k, v in HEADERS.items() if k != "x-amz-content-sha256"]  # crt adds it
        headers = http.HttpHeaders([("host", host), *plain])  # type: ignore[attr-defined]
        request = http.HttpRequest("POST", "/stream-transcription", headers)  # type: ignore[attr-defined]
        auth.aws_sign_request(request, config).result()  # type: ignore[attr-defined]

    return Row(case, "awscrt aws_sign_request", per_call(crt_sign), "C signer + Python glue")


def main() -> None:
    frames = frame_rows()
    requests = request_rows()
    print_table("SigV4 (python -m benchmarks sign)", [*frames, *requests])
    print()
    seconds = {(r.case, r.name): r.seconds for r in frames + requests}
    ours_frame = seconds[(frames[0].case, "streamscribe")]
    at = seconds.get((frames[0].case, "amazon_transcribe EventSigner"))
    if at and ours_frame:
        print(verdict("frame vs amazon_transcribe", at / ours_frame, 3.0))
    ours_req = seconds[("(b) sign_headers, small POST", "streamscribe")]
    boto = seconds.get(("(b) sign_headers, small POST", "botocore SigV4Auth"))
    crt = seconds.get(("(b) sign_headers, small POST", "awscrt aws_sign_request"))
    if boto and ours_req:
        print(verdict("sign_headers vs botocore", boto / ours_req, 5.0))
    if crt and ours_req:
        print(verdict("sign_headers vs awscrt", crt / ours_req, 1.0))
