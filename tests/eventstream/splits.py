"""Ways of cutting a byte stream into chunks, for feeding decoders."""

from __future__ import annotations

import random
from collections.abc import Iterator


def whole(data: bytes) -> list[bytes]:
    return [data]


def byte_by_byte(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def random_splits(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    chunks, i = [], 0
    while i < len(data):
        n = rng.randint(1, max(1, len(data) // 3))
        chunks.append(data[i : i + n])
        i += n
    return chunks


def all_splits(data: bytes) -> Iterator[tuple[str, list[bytes]]]:
    yield "whole", whole(data)
    yield "byte-by-byte", byte_by_byte(data)
    for seed in range(5):
        yield f"random-{seed}", random_splits(data, seed)
