"""``python -m benchmarks``: on-device get_offers benchmarks W1-W4 and import time.

    python -m benchmarks [--quick] [--json out.json] [--compare [--reference-venv DIR]]
    python -m benchmarks memory [--calls N] [--workload w1|w2|w3]

See README.md ("Performance") for what each workload does and how it is measured.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from benchmarks.runner import QUICK, Settings, format_table, run

MEMORY_LIMIT_MB = 20.0


def _benchmark(args: argparse.Namespace) -> int:
    settings = QUICK if args.quick else Settings()
    settings = replace(settings, compare=args.compare, reference_venv=args.reference_venv)
    if args.rounds:
        settings = replace(settings, rounds=args.rounds)
    result = run(settings)
    print(format_table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def _memory(args: argparse.Namespace) -> int:
    from benchmarks.memory import run_memory

    result = run_memory(args.calls, args.workload)
    growth = result["growth_mb"]
    print(
        f"{args.calls:,} get_offers ({args.workload.upper()}, a new visitor each): RSS "
        f"{result['rss_mb'][0]:.1f} MB -> {result['rss_mb'][-1]:.1f} MB, growth "
        f"{growth:+.1f} MB (limit {MEMORY_LIMIT_MB:.0f} MB), {result['calls_per_s']:,.0f} calls/s"
    )
    print("RSS after each tenth (MB): " + " ".join(f"{v:.1f}" for v in result["rss_mb"]))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if growth < MEMORY_LIMIT_MB else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("mode", nargs="?", choices=("run", "memory"), default="run")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also run target-python-sdk 1.1.0, interleaved, and print ratios",
    )
    parser.add_argument(
        "--reference-venv",
        type=Path,
        default=None,
        help="virtual env for the reference (created when missing)",
    )
    parser.add_argument("--rounds", type=int, default=0, help="interleaved rounds per workload")
    parser.add_argument("--json", metavar="FILE", help="write the full result as JSON")
    parser.add_argument("--calls", type=int, default=1_000_000, help="memory: calls to make")
    parser.add_argument(
        "--workload", default="w1", choices=("w1", "w2", "w3"), help="memory: workload to repeat"
    )
    args = parser.parse_args(argv)
    return _memory(args) if args.mode == "memory" else _benchmark(args)


if __name__ == "__main__":
    sys.exit(main())
