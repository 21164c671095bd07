"""Browser code size: streamscribe.js against the official JavaScript SDK's bundle for the same job.

Both are minified by the same bundler (esbuild, from tests/interop/js, installed by
``make test``) for the browser as ES modules and compressed with gzip -9: ours is the
module as shipped; the SDK's is ``TranscribeStreamingClient`` and
``StartStreamTranscriptionCommand`` of ``@aws-sdk/client-transcribe-streaming`` with every
dependency they pull in (credentials for the browser, Cognito say, would come on top).
"""

from __future__ import annotations

import gzip
import subprocess
import tempfile
from pathlib import Path

from streaming.web import BROWSER_MODULE

from ._harness import calibration

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / "tests" / "interop" / "js"
ESBUILD = JS / "node_modules" / ".bin" / "esbuild"
SDK_ENTRY = (
    "export { TranscribeStreamingClient, StartStreamTranscriptionCommand } "
    'from "@aws-sdk/client-transcribe-streaming";\n'
)


def bundle(entry: Path, out: Path, *, follow: bool) -> bytes:
    argv = [str(ESBUILD), str(entry), "--minify", "--format=esm", "--platform=browser", f"--outfile={out}"]
    if follow:
        argv.append("--bundle")
    subprocess.run([*argv, "--log-level=warning"], cwd=JS, check=True)
    return out.read_bytes()


def main() -> None:
    print("\n## browser code: minified (esbuild) and gzip -9 (python -m benchmarks webkit)\n")
    print(calibration())
    if not ESBUILD.exists():
        print("esbuild is not installed: run make test once (npm ci in tests/interop/js)")
        return
    version = subprocess.run([str(ESBUILD), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    print(f"bundler: esbuild {version}")
    with tempfile.TemporaryDirectory() as tmp:
        ours = bundle(BROWSER_MODULE, Path(tmp) / "ours.js", follow=False)
        entry = JS / ".sdk-entry.mjs"  # inside the package, so that its node_modules resolve
        entry.write_text(SDK_ENTRY)
        try:
            sdk = bundle(entry, Path(tmp) / "sdk.js", follow=True)
        finally:
            entry.unlink()
    print(f"| {'code':<58} | {'minified':>10} | {'gzip -9':>9} |")
    print("|" + "-" * 60 + "|" + "-" * 12 + "|" + "-" * 11 + "|")
    for name, data in (
        ("streamscribe.js (capture, framing, reconnection)", ours),
        ("AWS SDK v3 client + command", sdk),
    ):
        print(f"| {name:<58} | {len(data) / 1024:7.1f} KB | {len(gzip.compress(data, 9)) / 1024:6.1f} KB |")


if __name__ == "__main__":
    main()
