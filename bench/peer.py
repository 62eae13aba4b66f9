#!/usr/bin/python3
"""A long-lived Python process for the benches (bench/peer.ts): runs peer scripts on request.

Each line on stdin is {"script": PATH, "argv": [...]}; the script runs as __main__ with those
arguments (runpy), and one line goes back: {"code": EXIT_CODE, "stdout": ..., "error": ...}.
The benches start it before they allocate anything large and then never fork again: a fork marks
every page the Node process has written copy-on-write, and on machines where a page fault is slow
the next timed run would pay for all of them (see bench/peer.ts).
"""
import contextlib
import io
import json
import runpy
import sys
import traceback

for line in sys.stdin:
    req = json.loads(line)
    buf = io.StringIO()
    reply = {"code": 0, "stdout": "", "error": ""}
    sys.argv = [req["script"], *req["argv"]]
    try:
        with contextlib.redirect_stdout(buf):
            runpy.run_path(req["script"], run_name="__main__")
    except SystemExit as e:
        reply["code"] = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported to the bench, which decides
        reply["code"] = 1
        reply["error"] = traceback.format_exc()
    reply["stdout"] = buf.getvalue()
    sys.__stdout__.write(json.dumps(reply) + "\n")
    sys.__stdout__.flush()
