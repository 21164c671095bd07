"""The local endpoint (``streamscribe serve``): pure decisions beside the asyncio adapters that serve them.

The names below load their module when first used (PEP 562), so a pure part of the
endpoint can be imported, and tested, without aiohttp, h2 or asyncio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _lazy

if TYPE_CHECKING:
    from ..proto.credentials import DEV_CREDENTIALS
    from .server import LocalEndpoint
    from .streamcore import Limits

__all__ = ["DEV_CREDENTIALS", "Limits", "LocalEndpoint"]

_WHERE = {"DEV_CREDENTIALS": ".proto.credentials", "LocalEndpoint": "server", "Limits": "streamcore"}


__getattr__ = _lazy.lazy_names(__name__, _WHERE, globals())
