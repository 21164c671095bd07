"""Regenerate chain_vectors.py with amazon_transcribe's EventSigner (an independent oracle).

    .venv/bin/python tests/sigv4/make_chain_vectors.py > tests/sigv4/chain_vectors.py

Nothing from streamscribe computes the expected values: the inner messages are built with
amazon_transcribe's serializer too, and the times are exact binary fractions of a second
so its float-based millisecond conversion is exact.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from amazon_transcribe.auth import Credentials
from amazon_transcribe.eventstream import EventSigner, EventStreamMessageSerializer

ACCESS_KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-west-2"
SERVICE = "transcribe"
SEED = "8a6b5b3c1dd2d8e2b1c6e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7"
UTC = dt.UTC
TIMES = [
    dt.datetime(2024, 3, 9, 23, 59, 59, 500000, tzinfo=UTC),
    dt.datetime(2024, 3, 9, 23, 59, 59, 875000, tzinfo=UTC),
    dt.datetime(2024, 3, 10, 0, 0, 0, 125000, tzinfo=UTC),  # UTC midnight crossed: new scope
    dt.datetime(2024, 3, 10, 0, 0, 1, 0, tzinfo=UTC),  # the empty end frame
]
AUDIO_HEADERS = {
    ":message-type": "event",
    ":event-type": "AudioEvent",
    ":content-type": "application/octet-stream",
}


def audio(i: int) -> bytes:
    return bytes((i * 7 + k) % 256 for k in range(320))


def main() -> None:
    serializer = EventStreamMessageSerializer()
    credentials = Credentials(ACCESS_KEY, SECRET)
    prior = bytes.fromhex(SEED)
    print('"""Chained :chunk-signature vectors, computed by amazon_transcribe (make_chain_vectors.py).')
    print()
    print("Each frame: its time, the inner message (an AudioEvent of 320 bytes, or b'' for the")
    print("end frame), the expected signature and the SHA-256 of the whole outer frame.")
    print('"""')
    print()
    print("import datetime as dt")
    print()
    print(f"ACCESS_KEY = {ACCESS_KEY!r}")
    print(f"SECRET = {SECRET!r}")
    print(f"REGION = {REGION!r}")
    print(f"SERVICE = {SERVICE!r}")
    print(f"SEED = {SEED!r}  # the request's signature, seeding the chain")
    print()
    print("FRAMES = [")
    for i, when in enumerate(TIMES):
        end = i == len(TIMES) - 1
        inner = b"" if end else serializer.serialize(AUDIO_HEADERS, audio(i))
        signer = EventSigner(SERVICE, REGION, utc_now=lambda when=when: when)
        headers = signer.sign(inner, prior, credentials)
        outer = serializer.serialize(headers, inner)
        prior = headers[":chunk-signature"]
        comment = "end frame, empty payload" if end else f"audio frame {i}, payload audio({i})"
        print(f"    # {comment}; {when.isoformat()}")
        print("    (")
        print(f"        dt.datetime.fromisoformat({when.isoformat()!r}),")
        print(f"        {end!r},  # end frame")
        print(f"        {prior.hex()!r},  # signature")
        print(f"        {hashlib.sha256(outer).hexdigest()!r},  # sha256 of the outer frame")
        print("    ),")
    print("]")


if __name__ == "__main__":
    main()
