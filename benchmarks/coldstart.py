"""Cold-start measurements, one per fresh process: import time and W4.

``python benchmarks/coldstart.py ours|reference SINK_HOST_PORT`` (the repository root on
``PYTHONPATH``, the SDK's own interpreter) prints one
JSON line: ``import_ms`` (the SDK's top-level import, first thing in the process) and
``w4_ms`` (from the raw bytes of the W2 artifact in memory to the first decision
returned: parse, validate, compile, create the client, decide one W2 request).
"""

from __future__ import annotations

import sys
import time


def _ours(sink: str) -> tuple[float, float]:
    started = time.perf_counter()
    import targetkit

    import_ms = (time.perf_counter() - started) * 1000
    from benchmarks.worker_ours import client_options
    from benchmarks.workloads import RequestFactory, artifact_path, load_specs

    spec = load_specs()["w2"]
    request = {"request": RequestFactory(spec)(0)}
    payload = artifact_path(spec).read_bytes()
    started = time.perf_counter()
    client = targetkit.create(client_options(spec, sink, payload))
    client.get_offers(request)
    w4_ms = (time.perf_counter() - started) * 1000
    client.close(5.0)
    return import_ms, w4_ms


def _reference(sink: str) -> tuple[float, float]:
    started = time.perf_counter()
    import target_python_sdk  # noqa: F401

    import_ms = (time.perf_counter() - started) * 1000
    import json

    from delivery_api_client import ApiClient

    from benchmarks.worker_reference import create_client, to_model
    from benchmarks.workloads import RequestFactory, artifact_path, load_specs

    spec = load_specs()["w2"]
    request = {"request": to_model(ApiClient(), RequestFactory(spec, add_geo=True)(0))}
    payload = artifact_path(spec).read_bytes()
    started = time.perf_counter()
    client = create_client(spec, sink, json.loads(payload))
    client.get_offers(request)
    w4_ms = (time.perf_counter() - started) * 1000
    return import_ms, w4_ms


def main() -> None:
    sdk, sink = sys.argv[1], sys.argv[2]
    import_ms, w4_ms = (_ours if sdk == "ours" else _reference)(sink)
    print(f'{{"import_ms": {import_ms:.3f}, "w4_ms": {w4_ms:.3f}}}', flush=True)


if __name__ == "__main__":
    main()
