"""Apply a rotation's bumps to a stack file, without any store access: ``python -m platform_secrets.rotate.apply
--stack S --bumped JSON`` (``JSON``: the ``bumped`` map of the rotate command's ``--json`` report).

The scheduled workflow's job that writes the repository has no cloud credentials; the job that read the
store's metadata hands it only the epochs to set (config keys and dates, never a value).
"""

from __future__ import annotations

import argparse
import json
import sys

from platform_secrets.offline import runner as offline
from platform_secrets.rotate.stackfile import StackEditRefused, write_bumped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m platform_secrets.rotate.apply")
    parser.add_argument("--stack", required=True)
    parser.add_argument("--bumped", required=True, help="JSON object: <owner>.<KEY> -> epoch")
    args = parser.parse_args(argv)
    try:
        bump = json.loads(args.bumped)
        if not isinstance(bump, dict) or not all(isinstance(v, str) for v in bump.values()):
            raise StackEditRefused("--bumped: a JSON object of epochs")
        changed = write_bumped(offline.ROOT / f"Pulumi.{args.stack}.yaml", bump)
    except (json.JSONDecodeError, StackEditRefused, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Pulumi.{args.stack}.yaml {'changed' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
