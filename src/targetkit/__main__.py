"""``python -m targetkit``: the same as the ``targetkit`` command."""

from targetkit.cli.main import main

raise SystemExit(main())
