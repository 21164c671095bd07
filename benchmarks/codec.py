"""Event-stream codec: ours beside botocore's and amazon_transcribe's, plus floors.

Cases (issue 2):
* encode one AudioEvent: 3 string headers, 3200-byte payload;
* decode 1000 TranscriptEvent-like messages (3 string headers, ~800-byte JSON payload)
  fed in 4096-byte chunks, reported per message;
* CRC-32 of 3200 bytes by every provider we could use.
"""

from __future__ import annotations

import importlib
import json
import struct
import zlib
from collections.abc import Callable

import eventstream

from ._harness import Row, per_call, print_table, verdict

AUDIO_HEADERS = {
    ":message-type": "event",
    ":event-type": "AudioEvent",
    ":content-type": "application/octet-stream",
}
TRANSCRIPT_HEADERS = {
    ":message-type": "event",
    ":event-type": "TranscriptEvent",
    ":content-type": "application/json",
}
AUDIO = bytes(range(256)) * 12 + bytes(128)  # 3200 bytes
N_MESSAGES = 1000
CHUNK = 4096


def transcript_payload(i: int) -> bytes:
    words = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"]
    items = [
        {
            "Content": w,
            "StartTime": round(0.3 * k + i, 3),
            "EndTime": round(0.3 * k + i + 0.25, 3),
            "Type": "pronunciation",
            "Confidence": 0.98,
            "VocabularyFilterMatch": False,
        }
        for k, w in enumerate(words[:4])
    ]
    result = {
        "Transcript": {
            "Results": [
                {
                    "ResultId": f"result-{i:08d}",
                    "StartTime": float(i),
                    "EndTime": i + 1.2,
                    "IsPartial": i % 3 != 0,
                    "ChannelId": "ch_0",
                    "Alternatives": [{"Transcript": " ".join(words[:4]), "Items": items}],
                }
            ]
        }
    }
    return json.dumps(result).encode()


def transcript_stream() -> bytes:
    return b"".join(eventstream.encode(TRANSCRIPT_HEADERS, transcript_payload(i)) for i in range(N_MESSAGES))


def chunks_of(data: bytes) -> list[bytes]:
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


def _optional(module: str) -> object | None:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def encode_rows() -> list[Row]:
    case = "encode AudioEvent (3200 B)"
    rows = [Row(case, "streamscribe", per_call(lambda: eventstream.encode(AUDIO_HEADERS, AUDIO)))]
    at = _optional("amazon_transcribe.eventstream")
    if at is not None:
        serializer = at.EventStreamMessageSerializer()  # type: ignore[attr-defined]
        rows.append(
            Row(
                case,
                "amazon_transcribe serializer",
                per_call(lambda: serializer.serialize(AUDIO_HEADERS, AUDIO)),
            )
        )
    else:
        rows.append(Row(case, "amazon_transcribe serializer", None, "not installed"))
    # Floor: the framing work alone, with the header bytes precomputed and no CRC.
    header_bytes = eventstream.encode(AUDIO_HEADERS, b"")[12:-4]
    pack = struct.Struct(">III").pack
    tail = struct.Struct(">I").pack

    def pack_join() -> bytes:
        total = 16 + len(header_bytes) + len(AUDIO)
        return b"".join((pack(total, len(header_bytes), 0), header_bytes, AUDIO, tail(0)))

    rows.append(Row(case, "floor: struct.pack + join", per_call(pack_join)))
    rows.append(Row(case, "floor: zlib.crc32 (stdlib)", per_call(lambda: zlib.crc32(AUDIO))))
    return rows


def decode_rows() -> list[Row]:
    case = f"decode TranscriptEvent (/msg, {CHUNK} B chunks)"
    stream = transcript_stream()
    chunks = chunks_of(stream)

    def ours() -> int:
        decoder = eventstream.Decoder()
        n = 0
        for chunk in chunks:
            n += len(decoder.feed(chunk))
        decoder.close()
        return n

    assert ours() == N_MESSAGES
    rows = [Row(case, "streamscribe", per_call(ours, repeat=5) / N_MESSAGES)]
    for label, module in (
        ("botocore EventStreamBuffer", "botocore.eventstream"),
        ("amazon_transcribe EventStreamBuffer", "amazon_transcribe.eventstream"),
    ):
        mod = _optional(module)
        if mod is None:
            rows.append(Row(case, label, None, "not installed"))
            continue
        buffer_cls = mod.EventStreamBuffer  # type: ignore[attr-defined]

        def theirs(buffer_cls: type = buffer_cls) -> int:
            buffer = buffer_cls()
            n = 0
            for chunk in chunks:
                buffer.add_data(chunk)
                for _ in buffer:
                    n += 1
            return n

        assert theirs() == N_MESSAGES
        rows.append(Row(case, label, per_call(theirs, repeat=5) / N_MESSAGES))
    return rows


def crc_rows() -> list[Row]:
    case = "crc32 of 3200 B"
    providers: list[tuple[str, Callable[[], object] | None]] = []
    zng = _optional("zlib_ng.zlib_ng")
    providers.append(("zlib-ng", (lambda: zng.crc32(AUDIO)) if zng else None))  # type: ignore[attr-defined]
    isal = _optional("isal.isal_zlib")
    providers.append(("isal", (lambda: isal.crc32(AUDIO)) if isal else None))  # type: ignore[attr-defined]
    providers.append(("zlib (stdlib)", lambda: zlib.crc32(AUDIO)))
    crcmod = _optional("crcmod.predefined")
    if crcmod is not None:
        fn = crcmod.mkCrcFun("crc-32")  # type: ignore[attr-defined]
        providers.append(("crcmod (test oracle)", lambda: fn(AUDIO)))
    rows = []
    for name, call in providers:
        label = f"{name} (in use)" if name == eventstream.CRC32_PROVIDER else name
        rows.append(Row(case, label, per_call(call) if call else None, "" if call else "not installed"))
    return rows


def main() -> None:
    encode = encode_rows()
    decode = decode_rows()
    crc = crc_rows()
    print_table("codec (python -m benchmarks codec)", [*encode, *decode])
    print_table("CRC-32 providers", crc, baseline=f"{eventstream.CRC32_PROVIDER} (in use)")
    print()
    by_name = {(r.case, r.name): r.seconds for r in encode + decode}
    enc_case, dec_case = encode[0].case, decode[0].case
    peer_enc = by_name.get((enc_case, "amazon_transcribe serializer"))
    peer_dec = by_name.get((dec_case, "botocore EventStreamBuffer"))
    if peer_enc and encode[0].seconds:
        print(verdict("encode vs amazon_transcribe", peer_enc / encode[0].seconds, 2.5))
    if peer_dec and decode[0].seconds:
        print(verdict("decode vs botocore", peer_dec / decode[0].seconds, 3.0))
