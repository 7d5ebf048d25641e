"""Apply a rotation's bumps to a stack file, without any store access: ``python -m platform_secrets.rotate.apply
--stack S --bumped JSON [--overlaps-set JSON] [--overlaps-ended JSON]`` (the ``bumped``, ``overlaps_set`` and
``overlaps_ended`` of the rotate command's ``--json`` report: config keys, dates and store version ids).

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
    parser.add_argument(
        "--overlaps-set", default="{}", help="JSON object: <owner>.<KEY> -> previous version"
    )
    parser.add_argument("--overlaps-ended", default="[]", help="JSON list of <owner>.<KEY>")
    args = parser.parse_args(argv)
    try:
        bump, overlaps = json.loads(args.bumped), json.loads(args.overlaps_set)
        ended = json.loads(args.overlaps_ended)
        for name, given in (("--bumped", bump), ("--overlaps-set", overlaps)):
            if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
                raise StackEditRefused(f"{name}: a JSON object of strings")
        if not isinstance(ended, list) or not all(isinstance(v, str) for v in ended):
            raise StackEditRefused("--overlaps-ended: a JSON list of strings")
        changed = write_bumped(
            offline.ROOT / f"Pulumi.{args.stack}.yaml", bump, overlaps, tuple(ended)
        )
    except (json.JSONDecodeError, StackEditRefused, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Pulumi.{args.stack}.yaml {'changed' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
