"""``python -m targetkit.cli``: same as the ``targetkit`` command."""

import sys

from targetkit.cli.main import main

sys.exit(main())
