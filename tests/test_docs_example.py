"""Adobe's documented events example runs verbatim, on-device, against a local CDN.

Only two changes from the docs: the first line imports targetkit, and the comment-only
body of ``client_ready_callback`` gets a statement (a get_offers call). Everything else,
options included, is the docs' text; the environment points it at the local servers.

The example ends right after ``create()``, as the docs do: in a real application the
process keeps running. The harness stands in for that: it waits until the client is
ready, then closes it, which lets queued callbacks finish.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.lifecycle_support import ARTIFACT_PATH, MBOX, make_artifact
from tests.servers import CdnServer, DeliveryServer

REPO = Path(__file__).resolve().parent.parent

GET_OFFERS = (
    "print('client_ready: get_offers answered', target_client.get_offers("
    f"{{'request': {{'execute': {{'mboxes': [{{'name': '{MBOX}', 'index': 1}}]}}}}}})"
    "['response']['execute']['mboxes'][0]['options'][0]['content'])"
)

EXAMPLE = f"""import targetkit as target_client

def client_ready_callback():
    {GET_OFFERS}

def artifact_download_succeeded(event):
    print("The artifact was successfully downloaded from {{}}".format(event.artifact_location))

def artifact_download_failed(event):
    print("The artifact failed to download from {{}} with the following error: {{}}"
          .format(event.artifact_location, str(event.error)))

client_options = {{
    "client": "acmeclient",
    "organization_id": "1234567890@AdobeOrg",
    "events": {{
        "client_ready": client_ready_callback,
        "artifact_download_succeeded": artifact_download_succeeded,
        "artifact_download_failed": artifact_download_failed
    }}
}}
target_client = target_client.create(client_options)
"""

HARNESS = """
import runpy, sys
names = runpy.run_path(sys.argv[1])
client = names["target_client"]
assert client.wait_until_ready(10), "not ready"
client.close()
"""


def run_example(tmp_path: Path, env: dict[str, str]) -> str:
    script = tmp_path / "example.py"
    script.write_text(EXAMPLE)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TARGETKIT_")}
    result = subprocess.run(
        [sys.executable, "-c", HARNESS, str(script)],
        cwd=REPO,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_docs_events_example_runs_on_device_against_a_local_cdn(
    cdn_server: CdnServer, delivery_server: DeliveryServer, tmp_path: Path
) -> None:
    cdn_server.put_json(ARTIFACT_PATH, make_artifact("one"))
    location = cdn_server.url + ARTIFACT_PATH
    out = run_example(
        tmp_path,
        {
            "TARGETKIT_DECISIONING_METHOD": "on-device",
            "TARGETKIT_ARTIFACT_LOCATION": location,
            "TARGETKIT_SERVER_DOMAIN": delivery_server.host,
            "TARGETKIT_SECURE": "false",
        },
    )
    assert out.splitlines() == [
        "client_ready: get_offers answered {'artifact': 'one'}",
        f"The artifact was successfully downloaded from {location}",
    ]
    assert cdn_server.count(ARTIFACT_PATH) == 1


def test_the_docs_example_derives_the_location_from_the_cdn_base_path(
    cdn_server: CdnServer, delivery_server: DeliveryServer, tmp_path: Path
) -> None:
    cdn_server.put_json(ARTIFACT_PATH, make_artifact("one"))
    out = run_example(
        tmp_path,
        {
            "TARGETKIT_DECISIONING_METHOD": "on-device",
            "TARGETKIT_CDN_BASE_PATH": cdn_server.url,
            "TARGETKIT_SERVER_DOMAIN": delivery_server.host,
            "TARGETKIT_SECURE": "false",
        },
    )
    assert f"successfully downloaded from {cdn_server.url}{ARTIFACT_PATH}" in out


def test_the_docs_example_prints_the_failure_line(
    cdn_server: CdnServer, delivery_server: DeliveryServer, tmp_path: Path
) -> None:
    # Nothing published: the CDN answers 404, which is not retried.
    location = cdn_server.url + ARTIFACT_PATH
    script = tmp_path / "example.py"
    script.write_text(EXAMPLE)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TARGETKIT_")}
    harness = (
        "import runpy, sys, time\n"
        "client = runpy.run_path(sys.argv[1])['target_client']\n"
        "time.sleep(0.5)\n"
        "client.close()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", harness, str(script)],
        cwd=REPO,
        env={
            **clean,
            "TARGETKIT_DECISIONING_METHOD": "on-device",
            "TARGETKIT_ARTIFACT_LOCATION": location,
            "TARGETKIT_SERVER_DOMAIN": delivery_server.host,
            "TARGETKIT_SECURE": "false",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        f"The artifact failed to download from {location} with the following error: "
        f"the CDN answered HTTP 404 for {location}"
    )
