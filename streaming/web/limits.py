"""What a page may ask for, pure: the stream parameters in its query string, within the app's limits.

Shared by the presign handler and the relay. A page names the service's parameters by their
wire names (``language-code``, ``sample-rate``, ...); the language, the sample rate and the
encoding must be among those the app allows, any other service parameter must be one the
app lists, and a page never chooses the region, the endpoint or the credentials. Names the
service does not know are the app's own (an auth token, say) and are left to it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl

from ..proto.errors import ParameterError
from ..proto.params import PARAMETERS, Operation, StreamParams, params_from_headers

__all__ = ["MAX_FIELDS", "MAX_QUERY", "PageLimits", "foreign_origin", "hook_allows", "page_params", "query_pairs"]

MAX_QUERY: Final = 4096  # bytes of query string read at most
_BY_WIRE: Final = {p.wire: p for p in PARAMETERS}
_ALWAYS: Final = frozenset({"language-code", "sample-rate", "media-encoding"})
_SERVERS_OWN: Final = frozenset({"region", "endpoint", "credentials", "access-key", "session-token", "session-id"})


@dataclass(frozen=True, slots=True, kw_only=True)
class PageLimits:
    """The choices an app leaves to its pages."""

    languages: frozenset[str] = frozenset({"en-US"})
    sample_rates: frozenset[int] = frozenset({8000, 16000, 44100, 48000})
    encodings: frozenset[str] = frozenset({"pcm"})
    params: frozenset[str] = frozenset()  # further wire names a page may set

    def check(self) -> None:
        strange = sorted(p for p in self.params if p not in _BY_WIRE or p in _ALWAYS or p in _SERVERS_OWN)
        if strange:
            raise ParameterError("params", f"params {strange} cannot be left to a page (wire names of the table)")


MAX_FIELDS: Final = 64  # parameters in one query, at most


def query_pairs(query: str) -> list[tuple[str, str]]:
    """A query string's (name, value) pairs, or :class:`ParameterError` when it is too long or
    has too many of them (the fuzzer found that ``parse_qsl`` raises ``ValueError`` there)."""
    if len(query) > MAX_QUERY:
        raise ParameterError("query", f"the query string is over {MAX_QUERY} bytes")
    try:
        return parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError as exc:
        raise ParameterError("query", f"the query string has more than {MAX_FIELDS} parameters") from exc


def page_params(
    query: str, operation: Operation, limits: PageLimits, *, controls: Iterable[str] = ()
) -> tuple[StreamParams, dict[str, str]]:
    """The stream's parameters from a page's query, and the values of ``controls`` (names the
    caller reads itself, e.g. ``expires``); :class:`ParameterError` names what is refused."""
    pairs = query_pairs(query)
    names = [name for name, _ in pairs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ParameterError("query", f"parameters given more than once: {', '.join(repeated)}")
    values = dict(pairs)
    taken = {name: values.pop(name) for name in controls if name in values}
    for name in values:
        if name in _SERVERS_OWN:
            raise ParameterError(name, f"{name} is the server's to choose, not the page's")
        if name in _BY_WIRE and name not in _ALWAYS and name not in limits.params:
            raise ParameterError(name, f"{name} may not be set by the page here")
    wire = {name: value for name, value in values.items() if name in _BY_WIRE}
    wire.setdefault("media-encoding", "pcm")
    language, rate = wire.get("language-code"), wire.get("sample-rate", "")
    if language not in limits.languages:
        raise ParameterError("language-code", f"language-code must be one of {sorted(limits.languages)}")
    if not rate.isdigit() or int(rate) not in limits.sample_rates:
        raise ParameterError("sample-rate", f"sample-rate must be one of {sorted(limits.sample_rates)}")
    if wire["media-encoding"] not in limits.encodings:
        raise ParameterError("media-encoding", f"media-encoding must be one of {sorted(limits.encodings)}")
    headers = [(_BY_WIRE[name].header, value) for name, value in wire.items()]
    return params_from_headers(operation, headers), taken


def foreign_origin(headers: Mapping[str, str]) -> str | None:
    """The Origin of a page from another site, else None (no Origin: not a browser; or this
    server's own origin, its scheme from ``X-Forwarded-Proto`` behind a proxy, else http)."""
    origin = headers.get("origin")
    if origin is None:
        return None
    host = headers.get("host")
    own = f"{headers.get('x-forwarded-proto', 'http')}://{host}" if host else None
    return None if origin.rstrip("/") == own else origin.rstrip("/")


async def hook_allows(call: Callable[[], object]) -> tuple[bool, str | None]:
    """Run the app's authorisation hook (plain or async): whether it allows the request, and
    its reason when it refused by raising ``PermissionError``. Only ``False`` refuses."""
    try:
        verdict = call()
        if inspect.isawaitable(verdict):
            verdict = await verdict
    except PermissionError as exc:
        return False, str(exc) or None
    return verdict is not False, None
