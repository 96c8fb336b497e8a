"""``targetkit demo`` as a user runs it: a subprocess, no arguments, no network.

It must exit 0 within 30 s, print the three event lines as they fire, and the decisions
before and after the live update.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

#: The acceptance bound for the whole demo (s); it normally takes a few seconds.
DEMO_LIMIT_S = 30


def run_demo(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    # A stray TARGETKIT_* setting must not change the demo.
    clean["TARGETKIT_ARTIFACT_FORMAT"] = "bin"
    clean["TARGETKIT_CLIENT"] = "somebody-else"
    return subprocess.run(
        [sys.executable, "-m", "targetkit.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=DEMO_LIMIT_S,
        env={**clean, **env},
    )


def test_demo_runs_the_whole_story() -> None:
    result = run_demo()
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Traceback" not in result.stderr
    events = re.findall(r"^\s+\[event\] (\w+)", out, re.MULTILINE)
    assert events == [
        "client_ready",
        "artifact_download_succeeded",
        "artifact_download_succeeded",
        "artifact_download_failed",
        "artifact_download_failed",
    ]
    assert "HTTP 500" in out
    assert "403" in out
    # Who got which experience, then the live update's changes.
    assert re.search(r"^\s+alice\s+Vancouver\s+Bold hero\s+Green button", out, re.MULTILINE)
    assert re.search(r"^\s+dave\s+San Francisco\s+Classic hero\s", out, re.MULTILINE)
    assert re.search(r"^\s+dave\s+San Francisco\s+Classic hero -> Bold hero", out, re.MULTILINE)
    assert "3 decisions changed" in out
    assert out.count("decisions still served") == 2
    assert "refresh_artifact()" in out
    assert re.search(r"Done in \d+\.\d s\.", out)
    assert "\x1b[" not in out  # stdout is a pipe: no colour
