"""``python -m benchmarks memory``: RSS growth over many get_offers with new visitors.

The client runs in a worker process (notifications going to the local sink); RSS is
read from /proc after a warm-up and after each tenth of the calls. Flat RSS means no
per-visitor state is kept: caches are bounded, queues are bounded.
"""

from __future__ import annotations

import sys
from typing import Any

from benchmarks.runner import Worker
from benchmarks.sink import Sink


def run_memory(calls: int, workload: str) -> dict[str, Any]:
    sink = Sink().start()
    worker = Worker("targetkit", [sys.executable, "-m", "benchmarks.worker_ours", sink.host_port])
    try:
        worker.call("setup", workload=workload)
        measured = worker.call("memory", workload=workload, calls=calls)
    finally:
        worker.stop()
        sink.stop()
    rss = measured["rss_mb"]
    return {
        "calls": calls,
        "workload": workload,
        "rss_mb": rss,
        "growth_mb": rss[-1] - rss[0],
        "calls_per_s": calls / measured["seconds"],
        "notifications_posted_to_sink": sink.count,
    }
