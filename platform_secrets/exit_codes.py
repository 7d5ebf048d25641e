"""The exit codes of every ``platform-secrets`` subcommand (the one place they are defined).

- ``0`` (``OK``): done, nothing to report.
- ``1`` (``FINDINGS``): findings, or input refused. A bad flag or a usage error (click's own 2 is mapped to
  1), a refused stack file, catalog, config value or plan folder, an audit with a high finding, stale derived
  files, a secret-scan finding, an env file that cannot be written because a required key is missing.
- ``2`` (``COULD_NOT_RUN``): the command could not do its job. A store unreachable or refusing the
  caller, no credentials, a tool binary missing (gitleaks), git failing, an internal error.

A script tells "look at the findings" (1) from "retry or fix the machine" (2) by the code alone.
"""

OK = 0
FINDINGS = 1
COULD_NOT_RUN = 2
