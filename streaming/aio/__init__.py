"""The asyncio shell: the client, its transports, audio sources and the blocking facade; it waits and moves bytes."""

__all__: list[str] = []
