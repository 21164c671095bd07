"""The module paths from before the layers had folders still import, as aliases.

``import streaming.core`` gives the very module ``streaming.proto.core`` (one object, one
set of classes), so code written against the flat layout keeps working. New code imports
the layered paths, or names from the package face (``from streaming import ...``).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any, Final

__all__ = ["MOVED", "install"]

MOVED: Final = {
    "streaming.params": "streaming.proto.params",
    "streaming.models": "streaming.proto.models",
    "streaming.errors": "streaming.proto.errors",
    "streaming.protocol": "streaming.proto.messages",
    "streaming.session": "streaming.proto.connection",
    "streaming.core": "streaming.proto.core",
    "streaming.containers": "streaming.proto.containers",
    "streaming.captions": "streaming.proto.captions",
    "streaming.formats": "streaming.proto.formats",
    "streaming.endpoints": "streaming.proto.endpoints",
    "streaming.credentials": "streaming.aio.credentials",
    "streaming.client": "streaming.aio.client",
    "streaming.transports": "streaming.aio.transports",
    "streaming.h2channel": "streaming.aio.h2channel",
    "streaming.audio": "streaming.aio.audio",
    "streaming.sync": "streaming.aio.sync",
    "streaming.display": "streaming.cli.display",
    "streaming.demo": "streaming.cli.demo",
    "streaming.local.audio": "streaming.local.decoding",
    "streaming.local.jobs": "streaming.local.jobstore",
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self) -> None:
        self._own: dict[str, tuple[Any, Any]] = {}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(MOVED[spec.name])
        self._own[module.__name__] = (module.__spec__, module.__loader__)
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The import system stamped the alias's spec on the real module: give it back its own.
        module.__spec__, module.__loader__ = self._own.pop(module.__name__)


def install() -> None:
    """Put the alias finder on ``sys.meta_path`` once."""
    if not any(isinstance(finder, _Alias) for finder in sys.meta_path):
        sys.meta_path.append(_Alias())
