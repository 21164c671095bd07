"""What the endpoint's adapters need from it: narrow protocols, so that no adapter imports the server.

:class:`StreamHost` is what the HTTP/2 and WebSocket adapters call to open, run and release
streams within the endpoint's limits; :class:`PageHost` is what the browser page reads to
presign a URL for its own WebSocket. :class:`~streaming.local.server.LocalEndpoint`
provides both; a test can provide either with a small object of its own.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any, Protocol

from aiohttp import web

from sigv4 import Credentials

from ..proto.errors import ServiceError
from ..proto.params import Operation
from .connections import ConnectionGuard
from .stream import ServerStream
from .streamcore import Limits

__all__ = ["OpenResult", "PageHost", "StreamHost"]

OpenResult = ServiceError | tuple[ServerStream, dict[str, str]]
"""A refusal, or an admitted stream with its response headers."""


class StreamHost(Protocol):
    """The endpoint as its transport adapters see it."""

    @property
    def operations(self) -> tuple[Operation, ...]: ...
    @property
    def limits(self) -> Limits: ...
    @property
    def guard(self) -> ConnectionGuard: ...
    @property
    def connections(self) -> set[Any]: ...
    @property
    def http_handlers_served(self) -> set[Any]: ...
    @property
    def http_url(self) -> str: ...

    def open_http2_stream(self, method: str, target: str, headers: list[tuple[str, str]]) -> OpenResult: ...
    def open_websocket_stream(self, method: str, target: str, headers: list[tuple[str, str]]) -> OpenResult: ...
    def close_stream(self, stream: ServerStream) -> None: ...
    def origin_allowed(self, origin: str | None) -> bool: ...
    def add_page_routes(self, app: web.Application) -> None: ...


class PageHost(Protocol):
    """The endpoint as its browser page sees it."""

    @property
    def page_enabled(self) -> bool: ...
    @property
    def credentials(self) -> Mapping[str, Credentials]: ...
    @property
    def region(self) -> str | None: ...
    @property
    def websocket_url(self) -> str: ...

    def clock(self) -> _dt.datetime: ...
