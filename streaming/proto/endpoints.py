"""Where requests go: endpoint URLs and regions, checked before anything connects (pure).

One home for these rules, shared by the streaming client, the presigner, the job client
and the command line.
"""

from __future__ import annotations

from typing import Final, Literal
from urllib.parse import urlsplit

from .errors import ParameterError, ProtocolError

__all__ = ["check_endpoint", "check_region", "not_http2", "transport_for"]

_SCHEMES: Final = {
    "http2": ("https", "http"),
    "websocket": ("wss", "ws"),
    "api": ("https", "http"),  # the JSON job APIs (HTTP/1.1)
}
_FOR: Final = {"http2": "HTTP/2 streams", "websocket": "WebSocket streams", "api": "the job APIs"}


def check_endpoint(endpoint: str, kind: str) -> str:
    """``endpoint`` (for ``kind``: ``http2``, ``websocket`` or ``api``) without a trailing
    slash, or :class:`ParameterError` saying what is wrong."""
    schemes = _SCHEMES[kind]
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise ParameterError("endpoint", f"endpoint {endpoint!r} is not a URL: {exc}") from exc
    if parts.scheme not in schemes:
        raise ParameterError(
            "endpoint",
            f"endpoint {endpoint!r} must start with {schemes[0]}:// (or {schemes[1]}:// without TLS) for {_FOR[kind]}",
        )
    if not parts.hostname:
        raise ParameterError("endpoint", f"endpoint {endpoint!r} has no host name")
    if parts.username is not None or parts.password is not None:
        raise ParameterError(
            "endpoint",
            f"endpoint {parts.scheme}://{parts.hostname}... must not carry a user name or password: "
            "requests are signed with AWS credentials, not URL credentials",
        )
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise ParameterError("endpoint", f"endpoint {endpoint!r} must be scheme://host[:port], without a path")
    return endpoint.rstrip("/")


def transport_for(endpoint: str | None, transport: str | None) -> Literal["http2", "websocket"]:
    """The transport asked for, else the one the endpoint's scheme names (``ws``/``wss``:
    WebSocket; anything else, or no endpoint: HTTP/2). A transport the scheme contradicts
    is a :class:`ParameterError` naming both."""
    if transport is not None and transport not in ("http2", "websocket"):
        raise ParameterError("transport", f"transport must be 'http2' or 'websocket', not {transport!r}")
    try:
        scheme = urlsplit(endpoint).scheme if endpoint else ""
    except ValueError as exc:
        raise ParameterError("endpoint", f"endpoint {endpoint!r} is not a URL: {exc}") from exc
    named: Literal["http2", "websocket"] | None = (
        "websocket" if scheme in ("ws", "wss") else "http2" if scheme in ("http", "https") else None
    )
    if transport is None:
        return named or "http2"
    if named is not None and named != transport:
        wanted = "wss:// (or ws://)" if transport == "websocket" else "https:// (or http://)"
        raise ParameterError(
            "transport",
            f"transport={transport!r} needs a {wanted} endpoint, not {endpoint!r}; "
            "change one of them (or leave transport out: the scheme decides)",
        )
    return "websocket" if transport == "websocket" else "http2"


def check_region(region: str) -> None:
    """A region name such as ``eu-west-1``, or :class:`ParameterError`."""
    if not isinstance(region, str) or not region or not all(c.isalnum() or c == "-" for c in region):
        raise ParameterError("region", f"region must be a name such as us-east-1, not {region!r}")


def not_http2(first: bytes, peer: str) -> ProtocolError | None:
    """The error for a server whose first bytes answer in HTTP/1.1 where HTTP/2 was asked
    for (a WebSocket or HTTP port given as the HTTP/2 endpoint), else None."""
    if not first.startswith(b"HTTP/1."):
        return None
    line = first.split(b"\r\n", 1)[0][:80].decode("ascii", "replace")
    return ProtocolError(
        f"{peer} answered in HTTP/1.1 ({line!r}), not HTTP/2: is this a WebSocket or "
        "HTTP port? Use the HTTP/2 port, or ws:// (WebSocket) for this one"
    )
