"""``python -m platform_secrets``: the ``platform-secrets`` command."""

import sys

from platform_secrets.cli.app import main

sys.exit(main())
