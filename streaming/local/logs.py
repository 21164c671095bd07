"""The endpoint's log: one line per stream, connection refusal, request refusal and job call."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..proto.errors import ServiceError
from .admission import access_key

__all__ = ["log", "log_refusal"]

log = logging.getLogger("streamscribe.local")


def log_refusal(error: ServiceError, what: str, headers: Sequence[tuple[str, str]], target: str) -> None:
    """One line for a refused request: which, who (the access key it claims), and why."""
    log.info(
        "refused request=%s %s key=%s status=%d %s: %s",
        error.request_id,
        what,
        access_key(headers, target),
        error.status,
        error.code,
        error.message,
    )
