"""AWS Signature Version 4 for Transcribe streaming (sans-I/O)."""

__all__: list[str] = []
