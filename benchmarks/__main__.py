"""``python -m benchmarks [TABLE ...]``: run the named tables, or all of them."""

from __future__ import annotations

import argparse
import platform
import sys

from . import breakdown, codec, endpoint, imports, models, recognition, scale, sign, webkit

TABLES = {
    "codec": codec.main,
    "sign": sign.main,
    "models": models.main,
    "endpoint": endpoint.main,
    "breakdown": breakdown.main,
    "scale": scale.main,
    "imports": imports.main,
    "recognition": recognition.main,
    "webkit": webkit.main,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("tables", nargs="*", choices=[*TABLES, []], help="default: all")
    args = parser.parse_args(argv)
    print(f"# streamscribe benchmarks: Python {platform.python_version()}, {platform.machine()}")
    for name in args.tables or list(TABLES):
        TABLES[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
