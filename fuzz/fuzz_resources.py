"""Fuzz target for the resources loader (``serve --resources``): JSON and YAML text in.

A resources file is an operator's, but it is often copied from elsewhere, and the
loader is the first thing ``serve`` runs. Each input is loaded as ``load_resources``
loads a file (size checked, UTF-8 decoded, YAML or JSON by suffix, then every entry
checked): only a one-line ``ParameterError`` escapes, and what loads can seed a job store
whose answers serialise (no alias survives to be expanded there).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import pathlib
import sys
import tempfile

import atheris

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

with atheris.instrument_imports():
    from streaming.local.jobstore import JobStore
    from streaming.local.resources import load_resources
    from streaming.proto.errors import ParameterError, ServiceError

DIRECTORY = pathlib.Path(tempfile.mkdtemp(prefix="fuzz-resources-"))
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def test_one_input(data: bytes) -> None:
    suffix = ".yaml" if data[:1] and data[0] & 1 else ".json"
    path = DIRECTORY / f"resources{suffix}"
    path.write_bytes(data[1:])
    try:
        resources = load_resources(path)
        store = JobStore(resources.raw, clock=lambda: NOW)
    except ParameterError as exc:
        if "\n" in str(exc):
            raise AssertionError(f"a resources error spans lines: {exc!r}") from exc
        return
    for kind, key, target in (
        ("TranscriptionJobs", "TranscriptionJobName", "Transcribe.GetTranscriptionJob"),
        ("CallAnalyticsJobs", "CallAnalyticsJobName", "Transcribe.GetCallAnalyticsJob"),
    ):
        for entry in resources.raw.get(kind, []):
            with contextlib.suppress(ServiceError):
                json.dumps(store.handle(target, {key: entry[key]}))


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
