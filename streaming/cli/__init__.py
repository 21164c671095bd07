"""What a person sees: the ``streamscribe`` command, its live display and the demo."""

from .app import main

__all__ = ["main"]
