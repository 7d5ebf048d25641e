"""A stand-in ``pulumi`` executable for the orchestration tests (stdlib only; the real CLI is not here).

Copied by the tests to ``<tmp>/bin/pulumi``. Every call appends one JSON line ``{argv, stack, t0, t1, pid}`` to
``$STANDIN_LOG`` (one ``write`` on an ``O_APPEND`` descriptor, atomic across processes). ``$STANDIN_STATE`` is a
directory with one file per existing stack (its URNs, one a line, for ``stack export`` and ``state move``);
``$STANDIN_SCENARIO`` is JSON ``{stack: {sleep, fail, no_summary}}`` (key ``state-move`` for the moves).
It reports version 3.205.0, so the SDK reads engine events from a file rather than serving gRPC.
"""

import json
import os
import sys
import time


def _urns(state, stack):
    path = os.path.join(state, stack)
    return open(path).read().split() if os.path.exists(path) else []


def _move(args, state):
    """``state move --source A --dest B --yes URN...``: the URNs leave A's file for B's, stack part rewritten."""
    if json.loads(os.environ.get("STANDIN_SCENARIO") or "{}").get("state-move", {}).get("fail"):
        return 1, "error: scenario failure\n"
    if "--yes" not in args:
        return 1, "error: --yes must be passed in to proceed when running in non-interactive mode\n"
    source, dest = args[args.index("--source") + 1], args[args.index("--dest") + 1]
    urns = [a for a in args if a.startswith("urn:pulumi:")]
    kept = [u for u in _urns(state, source) if u not in urns]
    moved = [u.replace(f"urn:pulumi:{source}::", f"urn:pulumi:{dest}::", 1) for u in urns]
    for name, lines in ((source, kept), (dest, _urns(state, dest) + moved)):
        with open(os.path.join(state, name), "w") as f:
            f.write("".join(f"{u}\n" for u in lines))
    return 0, ""


def main(argv):
    t0 = time.time()
    args = [a for a in argv if a != "--non-interactive"]
    stack = args[args.index("--stack") + 1] if "--stack" in args else None
    scenario = json.loads(os.environ.get("STANDIN_SCENARIO") or "{}").get(stack or "", {})
    state = os.environ.get("STANDIN_STATE", ".")
    rc, out, err = 0, "", ""
    if args[:1] == ["version"]:
        out = "v3.205.0\n"
    elif args[:2] == ["stack", "select"]:
        if not os.path.exists(os.path.join(state, stack)):
            rc, err = 255, f"error: no stack named '{stack}' found\n"
    elif args[:2] == ["stack", "init"]:
        stack = stack or args[2]
        open(os.path.join(state, stack), "w").close()
    elif args[:1] in (["preview"], ["up"]):
        time.sleep(float(scenario.get("sleep", 0)))
        log = args[args.index("--event-log") + 1] if "--event-log" in args else None
        if log and not scenario.get("no_summary"):
            summary = {
                "maybeCorrupt": False,
                "durationSeconds": 0,
                "PolicyPacks": {},
                "resourceChanges": {"same": 3},
            }
            with open(log, "a") as f:
                f.write(
                    json.dumps({"sequence": 1, "timestamp": int(t0), "summaryEvent": summary})
                    + "\n"
                )
        if log:
            with open(log, "a") as f:
                f.write(json.dumps({"sequence": 2, "timestamp": int(t0), "cancelEvent": {}}) + "\n")
        if scenario.get("fail"):
            rc, err = 1, "error: scenario failure\n"
    elif args[:3] == ["stack", "output", "--json"]:
        out = "{}\n"
    elif args[:3] == ["stack", "history", "--json"]:
        out = json.dumps(
            [
                {
                    "kind": "update",
                    "startTime": "2026-12-03T10:00:00.000000Z",
                    "message": "",
                    "environment": {},
                    "config": {},
                    "result": "succeeded",
                    "endTime": "2026-12-03T10:00:01.000000Z",
                    "version": 1,
                    "resourceChanges": {"same": 3},
                }
            ]
        )
    elif args[:2] == ["stack", "export"]:
        urns = _urns(state, stack)
        out = json.dumps({"version": 3, "deployment": {"resources": [{"urn": u} for u in urns]}})
    elif args[:2] == ["state", "move"]:
        rc, err = _move(args, state)
    else:
        rc, err = 2, "stand-in: unsupported\n"
    record = {"argv": args, "stack": stack, "t0": t0, "t1": time.time(), "pid": os.getpid()}
    if os.environ.get("STANDIN_LOG"):  # `version` runs before the workspace passes its env vars
        fd = os.open(os.environ["STANDIN_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, (json.dumps(record) + "\n").encode())
        os.close(fd)
    sys.stdout.write(out)
    sys.stderr.write(err)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
