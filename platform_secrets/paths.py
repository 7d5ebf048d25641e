"""Where the project's files are: the checkout this package sits in (catalog.yaml, Pulumi.*.yaml, ...).

The package is installed editable from its checkout (the Makefile does), so its parent folder is the project.
"""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
