"""The local Transcribe streaming endpoint (``streamscribe serve``)."""

from .server import DEV_CREDENTIALS, LocalEndpoint
from .stream import Limits

__all__ = ["DEV_CREDENTIALS", "Limits", "LocalEndpoint"]
