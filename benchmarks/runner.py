"""The benchmark driver: starts the SDK workers and the sink, interleaves rounds, reports.

Each SDK runs in its own worker process (``worker_ours`` in this interpreter,
``worker_reference`` in the reference's virtual environment). Rounds alternate between
the two (and which goes first alternates too), so that slow phases of a busy machine hit
both alike and the ratio stays meaningful. Only one worker runs at a time.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.sink import Sink
from benchmarks.workloads import CALL_WORKLOADS, load_specs

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    rounds: int = 10
    round_s: float = 0.25  # target duration of one round of one SDK (s)
    warmup_s: float = 0.5
    cold_runs: int = 10  # fresh processes per SDK for W4 and import time
    compare: bool = False
    reference_venv: Path | None = None


QUICK = Settings(rounds=3, round_s=0.1, warmup_s=0.2, cold_runs=3)


class Worker:
    """A worker process speaking the line protocol of :mod:`benchmarks.protocol`."""

    def __init__(self, label: str, argv: list[str]) -> None:
        self.label = label
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
            env=env,
        )

    def call(self, cmd: str, **args: Any) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.label} worker exited (code {self.process.wait()})")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"{self.label} worker: {cmd} failed: {reply['error']}")
        return reply["ok"]

    def stop(self) -> None:
        try:
            self.call("close")
            assert self.process.stdin is not None
            self.process.stdin.write('{"cmd": "quit"}\n')
            self.process.stdin.close()
        except (OSError, RuntimeError):
            pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


@dataclass
class Samples:
    durations_ns: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        data = sorted(self.durations_ns)
        if not data:
            return {}
        p99 = data[min(len(data) - 1, int(len(data) * 0.99))]
        return {
            "calls": len(data),
            "median_us": statistics.median(data) / 1000,
            "p99_us": p99 / 1000,
            "mean_us": statistics.fmean(data) / 1000,
            "calls_per_s": 1e9 / statistics.fmean(data),
        }


def _calls_for(worker: Worker, workload: str, seconds: float, probe: int) -> int:
    """How many calls fill about ``seconds``, from a short probe run (also a warm-up)."""
    durations = worker.call("run", workload=workload, n=probe)
    median_ns = max(1, statistics.median(durations))
    return max(3, min(20_000, int(seconds * 1e9 / median_ns)))


def run_call_workload(workers: list[Worker], workload: str, settings: Settings) -> list[Samples]:
    """Interleaved rounds of ``workload`` in every worker; warm-up calls are discarded."""
    sizes = []
    for worker in workers:
        worker.call("setup", workload=workload)
        per_round = _calls_for(worker, workload, settings.warmup_s, probe=5)
        worker.call("run", workload=workload, n=max(5, int(per_round)))  # warm-up
        sizes.append(_calls_for(worker, workload, settings.round_s, probe=5))
    samples = [Samples() for _ in workers]
    for round_no in range(settings.rounds):
        order = list(range(len(workers)))
        if round_no % 2:
            order.reverse()
        for index in order:
            durations = workers[index].call("run", workload=workload, n=sizes[index])
            samples[index].durations_ns.extend(durations)
    return samples


def _cold_argv(python: str, sdk: str, sink: Sink) -> list[str]:
    script = str(REPO_ROOT / "benchmarks" / "coldstart.py")
    return [python, script, sdk, sink.host_port]


#: Cold-start modes: name -> how the environment of each fresh process is set up.
COLD_MODES = ("cached", "no_pyc")


def _cold_env(mode: str, empty_cache_dir: str) -> dict[str, str]:
    """``cached``: bytecode caching allowed (after the warm-up run wrote the caches);
    ``no_pyc``: nothing cached, every module (stdlib too) compiled from source, as in
    an environment with PYTHONDONTWRITEBYTECODE=1 and no .pyc files."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    if mode == "no_pyc":
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPYCACHEPREFIX"] = empty_cache_dir
    return env


def _cold_run(python: str, sdk: str, sink: Sink, env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run(
        _cold_argv(python, sdk, sink),
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=120,
    ).stdout
    values: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return values


def run_cold_starts(
    pythons: dict[str, str], sink: Sink, runs: int
) -> dict[str, dict[str, dict[str, Any]]]:
    """W4 and import time, each run a fresh process, alternating the SDKs, in each of
    :data:`COLD_MODES`. One unmeasured warm-up run per SDK writes the .pyc caches first
    (this environment may set PYTHONDONTWRITEBYTECODE, which would otherwise make every
    run compile whatever has no cache yet)."""
    import tempfile

    results: dict[str, dict[str, list[float]]] = {
        sdk: {f"{key}_{mode}": [] for key in ("import_ms", "w4_ms") for mode in COLD_MODES}
        for sdk in pythons
    }
    with tempfile.TemporaryDirectory(prefix="targetkit-bench-nopyc-") as empty:
        for sdk in pythons:
            _cold_run(pythons[sdk], sdk, sink, _cold_env("cached", empty))  # warm-up
        for mode in COLD_MODES:
            env = _cold_env(mode, empty)
            for run_no in range(runs):
                order = list(pythons)
                if run_no % 2:
                    order.reverse()
                for sdk in order:
                    for key, value in _cold_run(pythons[sdk], sdk, sink, env).items():
                        results[sdk][f"{key}_{mode}"].append(value)
    return {
        sdk: {
            key: {"median_ms": statistics.median(vals), "min_ms": min(vals), "runs": vals}
            for key, vals in measured.items()
        }
        for sdk, measured in results.items()
    }


def run(settings: Settings) -> dict[str, Any]:
    """Run everything; returns the JSON-ready result."""
    from benchmarks.refenv import DEFAULT_VENV, ensure_reference_venv

    sink = Sink().start()
    pythons = {"ours": sys.executable}
    ours_argv = [sys.executable, "-m", "benchmarks.worker_ours", sink.host_port]
    workers = [Worker("targetkit", ours_argv)]
    if settings.compare:
        ref_python = str(ensure_reference_venv(settings.reference_venv or DEFAULT_VENV))
        pythons["reference"] = ref_python
        script = str(REPO_ROOT / "benchmarks" / "worker_reference.py")
        workers.append(Worker("reference", [ref_python, script, sink.host_port]))
    specs = load_specs()
    result: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "settings": {"rounds": settings.rounds, "round_s": settings.round_s},
        "workloads": {},
    }
    try:
        for workload in CALL_WORKLOADS:
            started = time.perf_counter()
            samples = run_call_workload(workers, workload, settings)
            entry: dict[str, Any] = {"title": specs[workload]["title"]}
            for worker, sample in zip(workers, samples, strict=True):
                entry["ours" if worker.label == "targetkit" else "reference"] = sample.summary()
            result["workloads"][workload] = entry
            print(f"{workload} done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        result["notifications"] = workers[0].call("notifications")
        result["peak_rss_mb"] = {
            ("ours" if w.label == "targetkit" else "reference"): w.call("rss") for w in workers
        }
    finally:
        for worker in workers:
            worker.stop()
    result["cold"] = run_cold_starts(pythons, sink, settings.cold_runs)
    result["notifications"]["requests_received_by_sink"] = sink.count
    sink.stop()
    return result


def _ratio(ref: float | None, ours: float) -> str:
    return f"{ref / ours:.1f}x" if ref else "-"


def format_table(result: dict[str, Any]) -> str:
    """The human-readable report: medians, p99, calls/s and ratios."""
    compare = "reference" in result["cold"]
    head = f"{'workload':<9} {'targetkit median':>17} {'p99':>10} {'calls/s':>9}"
    if compare:
        head += f" {'Adobe 1.1.0 median':>19} {'p99':>10} {'ratio':>7}"
    lines = [head, "-" * len(head)]
    for name, entry in result["workloads"].items():
        ours = entry["ours"]
        line = (
            f"{name.upper():<9} {ours['median_us']:>14.1f} us {ours['p99_us']:>7.1f} us"
            f" {ours['calls_per_s']:>9.0f}"
        )
        if compare:
            ref = entry["reference"]
            line += (
                f" {ref['median_us']:>16.1f} us {ref['p99_us']:>7.1f} us"
                f" {_ratio(ref['median_us'], ours['median_us']):>7}"
            )
        lines.append(line)
    cold = result["cold"]
    for key, label in (
        ("w4_ms_cached", "W4"),
        ("import_ms_cached", "import"),
        ("w4_ms_no_pyc", "W4*"),
        ("import_ms_no_pyc", "import*"),
    ):
        ours_ms = cold["ours"][key]["median_ms"]
        line = f"{label:<9} {ours_ms:>14.1f} ms {'':>10} {'':>9}"
        if compare:
            ref_ms = cold["reference"][key]["median_ms"]
            line += f" {ref_ms:>16.1f} ms {'':>10} {_ratio(ref_ms, ours_ms):>7}"
        lines.append(line)
    lines.append(
        "W4/import: median of fresh processes after a warm-up run that wrote the .pyc "
        "caches (PYTHONDONTWRITEBYTECODE unset for them); *: nothing cached "
        "(PYTHONDONTWRITEBYTECODE=1, empty PYTHONPYCACHEPREFIX: every module, stdlib "
        "included, compiled from source)"
    )
    rss = result.get("peak_rss_mb", {})
    lines.append(
        "peak RSS: "
        + ", ".join(f"{'targetkit' if k == 'ours' else 'Adobe'} {v:.0f} MB" for k, v in rss.items())
    )
    notes = result.get("notifications", {})
    lines.append(
        f"targetkit notifications: {notes.get('sent_requests', 0):,} Delivery requests posted to "
        f"the local sink, {notes.get('dropped_items', 0):,} calls' notifications dropped at the "
        "queue bound (reference: send function stubbed out)"
    )
    return "\n".join(lines)
