"""Benchmark worker for the Adobe Python SDK (target-python-sdk 1.1.0).

Run with the reference's own interpreter, the repository root on ``PYTHONPATH``:
``python benchmarks/worker_reference.py SINK_HOST_PORT``. Everything stays on 127.0.0.1:

* ``target_location_hint`` is given, so ``create()`` makes no server-side call;
* ``server_domain`` and ``cdn_base_path`` point at the driver's local sink;
* ``artifact_payload`` is given and polling is off, so no CDN call is made;
* requests without geo get fixed geo values (see ``workloads.REFERENCE_GEO``), so no
  blocking geo lookup happens (the reference would make one per call and hang if it
  failed);
* notifications are stubbed out (its send function is replaced by a no-op), as in the
  published reference numbers. Its per-call notification thread still starts.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from delivery_api_client import ApiClient, DeliveryRequest
from target_python_sdk import TargetClient

from benchmarks.protocol import peak_rss_mb, serve, time_calls
from benchmarks.workloads import RequestFactory, artifact_path, load_specs


def _noop(*args: Any, **kwargs: Any) -> None:
    return None


def to_model(api: Any, request: dict[str, Any]) -> Any:
    """A DeliveryRequest model from a JSON-shaped dict, with the generated client's own
    deserializer (the reference accepts only model objects)."""
    return api._ApiClient__deserialize(request, DeliveryRequest)


def client_options(spec: dict[str, Any], sink: str, artifact: Any) -> dict[str, Any]:
    return {
        "client": spec["client"],
        "organization_id": spec["organizationId"],
        "decisioning_method": "on-device",
        "artifact_payload": artifact,
        "target_location_hint": "28",
        "server_domain": sink,
        "cdn_base_path": sink,
        "secure": False,
        "polling_interval": 0,
        "telemetry_enabled": True,
    }


def create_client(spec: dict[str, Any], sink: str, artifact: Any) -> Any:
    client = TargetClient.create(client_options(spec, sink, artifact))
    client.decisioning_engine.config.send_notification_func = _noop
    return client


class ReferenceWorker:
    def __init__(self, sink: str) -> None:
        self.sink = sink
        self.api = ApiClient()
        self.specs = load_specs()
        self.clients: dict[str, Any] = {}
        self.factories: dict[str, RequestFactory] = {}
        self.next_index: dict[str, int] = {}

    def setup(self, command: dict[str, Any]) -> str:
        name = command["workload"]
        spec = self.specs[name]
        artifact = json.loads(artifact_path(spec).read_bytes())
        self.clients[name] = create_client(spec, self.sink, artifact)
        self.factories[name] = RequestFactory(spec, add_geo=True)
        self.next_index[name] = 0
        return "target-python-sdk 1.1.0"

    def _options(self, name: str, i: int) -> dict[str, Any]:
        return {"request": to_model(self.api, self.factories[name](i))}

    def run(self, command: dict[str, Any]) -> list[int]:
        name, n = command["workload"], int(command["n"])
        first = self.next_index[name]
        self.next_index[name] = first + n
        client = self.clients[name]
        return time_calls(client.get_offers, lambda i: self._options(name, i), first, n)

    def sample(self, command: dict[str, Any]) -> Any:
        name = command["workload"]
        result = self.clients[name].get_offers(self._options(name, 0))
        return self.api.sanitize_for_serialization(result.get("response"))

    def rss(self, command: dict[str, Any]) -> float:
        return peak_rss_mb()

    def close(self, command: dict[str, Any]) -> int:
        return len(self.clients)


def main() -> None:
    worker = ReferenceWorker(sys.argv[1])
    serve(
        {
            "setup": worker.setup,
            "run": worker.run,
            "sample": worker.sample,
            "rss": worker.rss,
            "close": worker.close,
        }
    )


if __name__ == "__main__":
    main()
