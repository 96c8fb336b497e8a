"""The events example from the README, runnable against the local emulator.

In one terminal start the emulator; it prints the variables to export::

    targetkit serve

In another, export them and run::

    export TARGETKIT_CLIENT=demo TARGETKIT_ORGANIZATION_ID='DEMO0000000000000000000@AdobeOrg' \
        TARGETKIT_CDN_BASE_PATH=http://127.0.0.1:8080 \
        TARGETKIT_SERVER_DOMAIN=127.0.0.1:8080 TARGETKIT_SECURE=false
    python examples/events_example.py [MBOX]

Every option comes from a ``TARGETKIT_*`` variable except the decisioning method and
the callbacks, so the same script works against Target itself with your own values.
"""

from __future__ import annotations

import sys
import threading

import targetkit

#: Set by the first of client_ready / artifact_download_failed: no need to wait longer.
settled = threading.Event()


def client_ready() -> None:
    print("client_ready: decisions are now made on-device")
    settled.set()


def artifact_download_succeeded(event: targetkit.ArtifactDownloadSucceeded) -> None:
    print("artifact_download_succeeded:", event.artifact_location)


def artifact_download_failed(event: targetkit.ArtifactDownloadFailed) -> None:
    print("artifact_download_failed:", event.artifact_location, "-", event.error)
    settled.set()


def main(argv: list[str]) -> int:
    mbox = argv[1] if len(argv) > 1 else "homepage-hero"
    try:
        client = targetkit.create(
            {
                "decisioning_method": "on-device",
                "events": {
                    "client_ready": client_ready,
                    "artifact_download_succeeded": artifact_download_succeeded,
                    "artifact_download_failed": artifact_download_failed,
                },
            }
        )
    except targetkit.ConfigurationError as err:
        print(f"{err}; start `targetkit serve` and export the variables it prints", file=sys.stderr)
        return 2
    with client:
        settled.wait(timeout=5)  # seconds
        if not client.is_ready:
            print("no artifact: deciding on-device is not possible", file=sys.stderr)
            return 1
        result = client.get_offers(
            {
                "request": {
                    "context": {"channel": "web", "address": {"url": "https://shop.example/"}},
                    "execute": {"mboxes": [{"name": mbox, "index": 0}]},
                }
            }
        )
        for answer in result["response"]["execute"]["mboxes"]:
            for option in answer.get("options", []):
                print(f"offer for {answer['name']}: {option.get('content')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
