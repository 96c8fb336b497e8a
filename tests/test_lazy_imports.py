"""``import targetkit`` and on-device decisions load neither httpx nor asyncio.

Both cost tens of milliseconds at start-up; they load on the first network call (httpx)
or the first use of ``AsyncTargetClient`` (asyncio). Checked in a fresh interpreter,
since this test process has long imported both.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.servers import DeliveryServer

ARTIFACT = Path(__file__).parent / "conformance" / "artifacts" / "TEST_ARTIFACT_AB_SIMPLE.json"

SCRIPT = """
import json, sys
LAZY = ("httpx", "httpcore", "asyncio", "ssl")

def loaded():
    return sorted(m for m in LAZY if m in sys.modules)

stages = {}
import targetkit
stages["import"] = loaded()
client = targetkit.create({
    "client": "someClientId",
    "organization_id": "someOrgId",
    "decisioning_method": "on-device",
    "artifact_payload": open(sys.argv[1], "rb").read(),
    "polling_interval": 0,
    "server_domain": sys.argv[2],
    "secure": False,
    "notification_flush_interval_ms": 60_000,
})
stages["create"] = loaded()
envelope = client.get_offers({"request": {"execute": {"mboxes": [{"name": "mbox-magician"}]}}})
stages["decided"] = bool(envelope["response"]["execute"]["mboxes"][0].get("options"))
stages["get_offers"] = loaded()
client.close(5.0)  # flushes the display notification: the first network call
stages["close"] = loaded()
stages["async_attr"] = targetkit.AsyncTargetClient.__name__
stages["async"] = loaded()
print(json.dumps(stages))
"""


def test_on_device_decisions_need_neither_httpx_nor_asyncio(
    delivery_server: DeliveryServer,
) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ARTIFACT), delivery_server.url],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    stages = json.loads(out.strip().splitlines()[-1])
    assert stages["decided"] is True
    assert stages["import"] == []
    assert stages["create"] == []
    assert stages["get_offers"] == []
    # The notification went out over httpx, loaded only then.
    assert {"httpx", "httpcore"} <= set(stages["close"])
    assert delivery_server.count("/rest/v1/delivery") == 1
    assert stages["async_attr"] == "AsyncTargetClient"
    assert "asyncio" in stages["async"]
