"""Captions in a web app: a presign handler for the app's server, a relay, and the browser module.

:func:`presign_handler`-style adapters live in :mod:`.presign` (aiohttp and ASGI), the
relay in :mod:`.relay`; :data:`BROWSER_MODULE` is the path of ``streamscribe.js``, the
dependency-free ES module a page imports (``streamscribe serve`` serves it at
``/streamscribe.js``; an app can serve, copy or bundle the file). Names load their module
when first used, so importing this package loads no web framework.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _lazy
from ..data import BROWSER_MODULE

if TYPE_CHECKING:
    from .presign import AsgiPresignApp, PresignPolicy, PresignReply, PresignRequest, aiohttp_presign_handler
    from .relay import AsgiRelayApp, RelayPolicy, RelaySession, aiohttp_relay_handler

__all__ = [
    "BROWSER_MODULE",
    "AsgiPresignApp",
    "AsgiRelayApp",
    "PresignPolicy",
    "PresignReply",
    "PresignRequest",
    "RelayPolicy",
    "RelaySession",
    "aiohttp_presign_handler",
    "aiohttp_relay_handler",
]


_WHERE = {
    "AsgiPresignApp": "presign",
    "PresignPolicy": "presign",
    "PresignReply": "presign",
    "PresignRequest": "presign",
    "aiohttp_presign_handler": "presign",
    "AsgiRelayApp": "relay",
    "RelayPolicy": "relay",
    "RelaySession": "relay",
    "aiohttp_relay_handler": "relay",
}

__getattr__ = _lazy.lazy_names(__name__, _WHERE, globals())
