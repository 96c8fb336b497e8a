"""A throwaway virtual environment with the Adobe Python SDK (target-python-sdk 1.1.0).

The 1.1.0 wheel declares no dependencies at all; its repository pins them in a
requirements.txt written for Python 2.7-3.9. The workaround for current Python: install
those pins *except* ``enum34`` (a Python 2 backport that shadows the standard ``enum``
module and breaks its imports on Python 3), plus the packages its code
imports without declaring (``six``, ``certifi``, ``urllib3`` 1.x, ``requests``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REFERENCE_PACKAGE = "target-python-sdk==1.1.0"
REFERENCE_PINS = (
    "pytz==2020.5",
    "tzlocal==2.1",
    "python-dateutil==2.8.1",
    "ua-parser==0.10.0",
    "user-agents==2.2.0",
    "json_logic_qubit==0.9.1",
    "tld==0.12.5",
    "six",
    "certifi",
    "urllib3<2",
    "requests",
)
DEFAULT_VENV = Path("/tmp/targetkit-bench-reference-venv")


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def is_usable(venv: Path) -> bool:
    python = venv_python(venv)
    if not python.exists():
        return False
    probe = subprocess.run(
        [str(python), "-c", "import target_python_sdk, delivery_api_client"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def ensure_reference_venv(venv: Path, log: bool = True) -> Path:
    """The reference interpreter in ``venv``, creating and filling the venv if needed."""
    if is_usable(venv):
        return venv_python(venv)
    if log:
        print(f"installing {REFERENCE_PACKAGE} into {venv} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv_python(venv)), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--no-deps", REFERENCE_PACKAGE], check=True)
    subprocess.run([*pip, *REFERENCE_PINS], check=True)
    if not is_usable(venv):
        raise RuntimeError(f"{REFERENCE_PACKAGE} does not import in {venv}")
    return venv_python(venv)
