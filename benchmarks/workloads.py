"""The get_offers workloads W1-W3, as plain data both SDK workers can replay.

Standard library only: the reference worker imports this module from the reference
SDK's own virtual environment, where targetkit is not installed.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORKLOADS_FILE = HERE / "workloads.json"

#: The on-device workloads timed call by call (W4 and import time are cold starts).
CALL_WORKLOADS = ("w1", "w2", "w3")

#: Geo given to the reference SDK on workloads whose request has none: without it the
#: reference makes a blocking geo HTTP call per request (and hangs if it fails). Giving
#: it geo only removes work from its side, so the ratios err in its favour.
REFERENCE_GEO = {
    "countryCode": "US",
    "stateCode": "CA",
    "city": "SAN FRANCISCO",
    "latitude": 37.75,
    "longitude": -122.4,
}


def load_specs() -> dict[str, dict[str, Any]]:
    """Workload name -> spec (title, artifact path, client, organizationId, request...)."""
    raw = json.loads(WORKLOADS_FILE.read_text())
    return {name: spec for name, spec in raw.items() if not name.startswith("_")}


def artifact_path(spec: dict[str, Any]) -> Path:
    return (HERE / spec["artifact"]).resolve()


def hex32(i: int) -> str:
    return format(i, "x").rjust(32, "0")


def dec38(i: int) -> str:
    return str(i).rjust(38, "0")


_ID_TEMPLATES = {
    "hex32(i) + '.28_0'": lambda i: hex32(i) + ".28_0",
    "dec38(i)": dec38,
}


def visitor_id(spec: dict[str, Any], i: int) -> dict[str, str]:
    """The ``id`` block of call ``i`` (0-based, warm-up calls included)."""
    return {key: _ID_TEMPLATES[template](i) for key, template in spec["visitorId"].items()}


class RequestFactory:
    """Builds the Delivery request of call ``i``: the template plus that call's visitor.

    The template is deep-copied once; each call gets a shallow copy with its own ``id``,
    so building requests costs next to nothing and never shares the visitor.
    """

    def __init__(self, spec: dict[str, Any], *, add_geo: bool = False) -> None:
        self.spec = spec
        self.template = copy.deepcopy(spec["request"])
        if add_geo:
            context = self.template.setdefault("context", {})
            context.setdefault("geo", dict(REFERENCE_GEO))

    def __call__(self, i: int) -> dict[str, Any]:
        request = dict(self.template)
        request["id"] = visitor_id(self.spec, i)
        return request
