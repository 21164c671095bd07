"""Streaming client, transports, audio sources, CLI and local endpoint."""

__all__: list[str] = []
