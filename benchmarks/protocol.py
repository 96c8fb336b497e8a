"""The line protocol between the benchmark driver and its SDK worker processes.

Standard library only (the reference worker runs in the reference SDK's environment).
The driver writes one JSON command per line to the worker's stdin; the worker answers
each with one JSON line on the stdout it was started with. Anything else the SDK under
test prints goes to stderr, so it cannot corrupt the protocol.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

Handler = Callable[[dict[str, Any]], Any]


def peak_rss_mb() -> float:
    """Peak resident set size of this process (MB); Linux reports ru_maxrss in KB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """Current resident set size of this process (MB), from /proc (Linux)."""
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def time_calls(
    call: Callable[[int], Any], make_arg: Callable[[int], Any], first: int, n: int
) -> list[int]:
    """Time ``call(make_arg(i))`` for i in [first, first + n); building the argument is
    not timed. Returns the durations in ns."""
    clock = time.perf_counter_ns
    durations: list[int] = []
    append = durations.append
    for i in range(first, first + n):
        arg = make_arg(i)
        started = clock()
        call(arg)
        append(clock() - started)
    return durations


def serve(handlers: dict[str, Handler]) -> None:
    """Answer commands until ``quit`` or end of input."""
    out: TextIO = sys.stdout
    sys.stdout = sys.stderr  # the SDK under test may print; keep the protocol clean
    for line in sys.stdin:
        command = json.loads(line)
        name = command.get("cmd")
        if name == "quit":
            break
        try:
            reply: Any = {"ok": handlers[name](command)}
        except Exception as err:  # reported to the driver, which fails loudly
            reply = {"error": f"{type(err).__name__}: {err}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
