"""``python -m streaming.cli``: the ``streamscribe`` command."""

from .app import main

raise SystemExit(main())
