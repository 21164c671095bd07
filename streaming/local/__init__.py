"""The local endpoint (``streamscribe serve``): pure decisions beside the asyncio adapters that serve them.

The names below load their module when first used (PEP 562), so a pure part of the
endpoint can be imported, and tested, without aiohttp, h2 or asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import DEV_CREDENTIALS, LocalEndpoint
    from .stream import Limits

__all__ = ["DEV_CREDENTIALS", "Limits", "LocalEndpoint"]

_WHERE = {"DEV_CREDENTIALS": "server", "LocalEndpoint": "server", "Limits": "stream"}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'streaming.local' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
