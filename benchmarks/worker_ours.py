"""Benchmark worker for targetkit: ``python -m benchmarks.worker_ours SINK_URL``.

Runs the workloads through ``TargetClient.get_offers`` on-device, with the artifact
given as ``artifact_payload`` (raw bytes) and the notification worker thread running
against the driver's local HTTP sink on 127.0.0.1: notification sending is real, only
its destination is local.
"""

from __future__ import annotations

import gc
import logging
import sys
import time
from typing import Any

import targetkit
from benchmarks.protocol import current_rss_mb, peak_rss_mb, serve, time_calls
from benchmarks.workloads import RequestFactory, artifact_path, load_specs


def client_options(spec: dict[str, Any], sink: str, payload: bytes) -> dict[str, Any]:
    return {
        "client": spec["client"],
        "organization_id": spec["organizationId"],
        "decisioning_method": "on-device",
        "artifact_payload": payload,
        "target_location_hint": "28",
        "server_domain": sink,
        "secure": False,
        "polling_interval": 0,
    }


#: How long closing a client may flush notifications (s); the benchmark has no use for
#: the backlog a saturating loop leaves behind.
CLOSE_TIMEOUT_S = 0.5

#: Calls before the memory baseline: caches fill and the notification worker settles.
WARMUP_CALLS = 20_000


class OursWorker:
    def __init__(self, sink: str) -> None:
        self.sink = sink
        self.specs = load_specs()
        self.clients: dict[str, Any] = {}
        self.factories: dict[str, RequestFactory] = {}
        self.next_index: dict[str, int] = {}

    def setup(self, command: dict[str, Any]) -> str:
        name = command["workload"]
        spec = self.specs[name]
        payload = artifact_path(spec).read_bytes()
        self.clients[name] = targetkit.create(client_options(spec, self.sink, payload))
        self.factories[name] = RequestFactory(spec)
        self.next_index[name] = 0
        return targetkit.__version__

    def run(self, command: dict[str, Any]) -> list[int]:
        name, n = command["workload"], int(command["n"])
        client, factory = self.clients[name], self.factories[name]
        first = self.next_index[name]
        self.next_index[name] = first + n
        return time_calls(client.get_offers, lambda i: {"request": factory(i)}, first, n)

    def sample(self, command: dict[str, Any]) -> Any:
        """One response, for the driver's sanity check that both SDKs decide alike."""
        name = command["workload"]
        return self.clients[name].get_offers({"request": self.factories[name](0)})

    def rss(self, command: dict[str, Any]) -> float:
        return peak_rss_mb()

    def notifications(self, command: dict[str, Any]) -> dict[str, int]:
        """Queue counters summed over the clients (benchmark bookkeeping only)."""
        totals = {"sent_requests": 0, "dropped_items": 0, "failed_requests": 0}
        for client in self.clients.values():
            queue = client._worker.queue
            totals["sent_requests"] += queue.sent
            totals["dropped_items"] += queue.dropped
            totals["failed_requests"] += queue.failed
        return totals

    def memory(self, command: dict[str, Any]) -> dict[str, Any]:
        """RSS (MB) after a warm-up, then after each tenth of ``calls`` further calls,
        each with a new visitor."""
        name, calls = command["workload"], int(command["calls"])
        client, factory = self.clients[name], self.factories[name]
        first = self.next_index[name]
        for i in range(first, first + WARMUP_CALLS):
            client.get_offers({"request": factory(i)})
        first += WARMUP_CALLS
        gc.collect()
        samples = [current_rss_mb()]
        chunk = max(1, calls // 10)
        started = time.perf_counter()
        for start in range(first, first + calls, chunk):
            for i in range(start, min(start + chunk, first + calls)):
                client.get_offers({"request": factory(i)})
            samples.append(current_rss_mb())
        self.next_index[name] = first + calls
        return {"rss_mb": samples, "seconds": time.perf_counter() - started}

    def close(self, command: dict[str, Any]) -> int:
        for client in self.clients.values():
            client.close(CLOSE_TIMEOUT_S)
        return len(self.clients)


def quiet_overflow_warnings() -> None:
    """A saturating benchmark overflows the bounded notification queue (one Delivery
    request per new visitor cannot keep up with 10k+ decisions/s); the drops are counted
    and reported instead of logged one by one."""
    for name in ("targetkit.delivery.worker", "targetkit.delivery.notifications"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main() -> None:
    quiet_overflow_warnings()
    worker = OursWorker(sys.argv[1])
    serve(
        {
            "setup": worker.setup,
            "run": worker.run,
            "sample": worker.sample,
            "rss": worker.rss,
            "memory": worker.memory,
            "notifications": worker.notifications,
            "close": worker.close,
        }
    )


if __name__ == "__main__":
    main()
