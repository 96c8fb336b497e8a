"""``targetkit demo``: the whole story in a few seconds, offline.

It starts the emulator on a free local port with the bundled demo artifact, creates an
on-device :class:`~targetkit.TargetClient` pointed at it with the three artifact events
printed as they fire, decides for a few visitors, then shows a live artifact update
(``artifact_download_succeeded`` again, decisions change) and a CDN fault
(``artifact_download_failed``, decisions still served from the last good artifact).
"""

from __future__ import annotations

import argparse
import logging
import os
import queue
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from targetkit.cli.style import Style

__all__ = ["add_parser", "run_demo"]

#: The events the demo subscribes to and prints.
EVENTS = ("client_ready", "artifact_download_succeeded", "artifact_download_failed")
#: Longest the demo waits for an expected event (s); they normally take milliseconds.
EVENT_WAIT_S = 10.0
MBOXES = ("homepage-hero", "checkout-button", "loyalty-banner", "shipping-banner")


@dataclass(frozen=True, slots=True)
class Visitor:
    tnt_id: str
    ip: str  # looked up in the emulator's geo table
    params: Mapping[str, str] = field(default_factory=dict)


VISITORS = (
    Visitor("alice", "203.0.113.20"),
    Visitor("dave", "203.0.113.10"),
    Visitor("frank", "203.0.113.30", {"tier": "gold"}),
    Visitor("grace", "203.0.113.40"),
)


class DemoFailed(Exception):
    """The demo could not show what it meant to (an event never came)."""


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "demo",
        help="emulator + on-device client + live update + fault, offline, in seconds",
        description=__doc__,
    )
    parser.set_defaults(handler=demo_command)


class _Printer:
    def __init__(self, style: Style) -> None:
        self.style = style

    def line(self, text: str = "") -> None:
        print(text, flush=True)

    def step(self, title: str) -> None:
        self.line()
        self.line(self.style.bold(self.style.paint("== " + title, "blue")))

    def note(self, text: str) -> None:
        self.line(self.style.dim("   " + text))


class _Events:
    """Prints the client's events as they fire and lets the demo wait for them."""

    def __init__(self, printer: _Printer) -> None:
        self._printer = printer
        self._seen: queue.Queue[str] = queue.Queue()

    def callback(self, event: Mapping[str, Any]) -> None:
        style = self._printer.style
        name = str(event["type"])
        paint = style.bad if name == "artifact_download_failed" else style.good
        self._printer.line(f"   {paint('[event]')} {style.bold(name)}  {_event_detail(event)}")
        self._seen.put(name)

    def wait_for(self, *names: str) -> None:
        missing = list(names)
        deadline = time.monotonic() + EVENT_WAIT_S
        while missing:
            try:
                name = self._seen.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise DemoFailed(
                    f"no {', '.join(missing)} event within {EVENT_WAIT_S:g} s"
                ) from None
            if name in missing:
                missing.remove(name)


def _event_detail(event: Mapping[str, Any]) -> str:
    name = str(event["type"])
    if name == "client_ready":
        return "the client can decide on-device"
    if name == "artifact_download_succeeded":
        meta = event["artifact_payload"].get("meta") or {}
        return f"{event['artifact_location']}  ({meta.get('description', 'artifact')})"
    error = event.get("error")
    return f"{type(error).__name__}: {error}"


def _decide(client: Any, visitor: Visitor) -> dict[str, str]:
    request = {
        "id": {"tntId": visitor.tnt_id},
        "context": {
            "channel": "web",
            "address": {"url": "https://shop.example/"},
            "geo": {"ipAddress": visitor.ip},
        },
        "execute": {
            "mboxes": [
                {"name": name, "index": i, "parameters": dict(visitor.params)}
                for i, name in enumerate(MBOXES)
            ]
        },
    }
    envelope = client.get_offers({"request": request})
    found: dict[str, str] = {}
    for mbox in envelope["response"]["execute"]["mboxes"]:
        options = mbox.get("options") or [{}]
        tokens = options[0].get("responseTokens") or {}
        found[mbox["name"]] = str(tokens.get("experience.name", "(default content)"))
        city = tokens.get("geo.city")
        if city:
            found["city"] = str(city).title()
    return found


def _decide_all(client: Any) -> dict[str, dict[str, str]]:
    return {v.tnt_id: _decide(client, v) for v in VISITORS}


def _table(
    printer: _Printer,
    decisions: dict[str, dict[str, str]],
    previous: dict[str, dict[str, str]] | None = None,
) -> int:
    """Print who got which experience; returns how many decisions changed."""
    style = printer.style
    heads = ("visitor", "from", *MBOXES)
    rows, changed = [], 0
    for visitor in VISITORS:
        got = decisions[visitor.tnt_id]
        label = visitor.tnt_id + (" (gold)" if visitor.params.get("tier") == "gold" else "")
        row = [label, got.get("city", "?")]
        for mbox in MBOXES:
            before = previous[visitor.tnt_id][mbox] if previous else got[mbox]
            if before != got[mbox]:
                changed += 1
                row.append(f"{before} -> {got[mbox]}")
            else:
                row.append(got[mbox])
        rows.append(row)
    widths = [max(len(r[i]) for r in (heads, *rows)) for i in range(len(heads))]
    printer.line(
        "   " + "  ".join(style.bold(h.ljust(w)) for h, w in zip(heads, widths, strict=True))
    )
    for row in rows:
        cells = [
            style.warn(c.ljust(w)) if "->" in c else c.ljust(w)
            for c, w in zip(row, widths, strict=True)
        ]
        printer.line("   " + "  ".join(cells).rstrip())
    return changed


def _admin(http: Any, method: str, path: str, **kwargs: Any) -> Any:
    response = http.request(method, path, **kwargs)
    if response.status_code != 200:
        raise DemoFailed(f"{method} {path} answered {response.status_code}: {response.text}")
    return response.json()


def _quiet_library_logs(verbose: bool) -> None:
    """Without -v, the demo's own lines tell the story; library warnings (the injected
    download failures) would only repeat it. A handler filter, not a level change."""
    if verbose:
        return

    def keep(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or not record.name.startswith("targetkit")

    for handler in logging.getLogger().handlers:
        handler.addFilter(keep)


def run_demo(printer: _Printer) -> None:
    """The demo itself; raises DemoFailed when an expected event does not come."""
    import httpx

    from targetkit import TargetClient
    from targetkit.serve.config import EmulatorConfig
    from targetkit.serve.server import BackgroundEmulator

    style = printer.style
    printer.line(
        style.bold("targetkit demo") + " - a local Target edge, an on-device client, "
        "a live update and a fault. No account, no network."
    )
    with BackgroundEmulator(EmulatorConfig(port=0)) as emu, httpx.Client(base_url=emu.url) as http:
        emulator = emu.emulator
        artifact_url = emu.url + emulator.artifact_path("json")
        printer.step("Emulator")
        printer.line(f"   targetkit serve is running in-process at {style.accent(emu.url)}")
        printer.note(f"artifact {artifact_url} (bundled demo artifact, v1)")

        printer.step("Client: TargetClient.create(decisioning_method='on-device')")
        events = _Events(printer)
        options = {
            **emulator.client_options(emu.url),
            "decisioning_method": "on-device",
            "artifact_location": artifact_url,
            "events": {name: events.callback for name in EVENTS},
        }
        printer.note("subscribed to " + ", ".join(EVENTS))
        client = TargetClient.create(options)
        try:
            events.wait_for("client_ready", "artifact_download_succeeded")
            _story(printer, events, client, http)
        finally:
            client.close(timeout=2.0)
        stats = _admin(http, "GET", "/_admin/stats")
    printer.step("Emulator stats")
    printer.line(
        f"   {stats['artifact_requests']} artifact requests ({stats['artifact_not_modified']} "
        f"answered 304), {stats['geo_requests']} geo lookups, {stats['faults_injected']} faults "
        f"injected, {stats['notifications']} display notifications received"
    )


def _story(printer: _Printer, events: _Events, client: Any, http: Any) -> None:
    from targetkit.serve.sources import BUNDLED_ARTIFACT_V2, bundled_bytes

    style = printer.style
    printer.step("Decisions: get_offers() for 4 visitors, decided on-device")
    first = _decide_all(client)
    _table(printer, first)
    printer.note("same visitor, same answer: allocation hashes the visitor id, no server call")

    printer.step("Live update: the emulator now serves v2 (POST /_admin/artifact)")
    printer.note("v2 ends the hero test and rolls 'Bold hero' out to everyone")
    _admin(
        http,
        "POST",
        "/_admin/artifact",
        content=bundled_bytes(BUNDLED_ARTIFACT_V2),
        params={"label": "bundled demo_artifact_v2.json"},
    )
    printer.note("clients poll every 5 minutes at the least (polling_interval floor), so the")
    printer.note("demo fetches now with client.refresh_artifact()")
    if not client.refresh_artifact():
        raise DemoFailed("refresh_artifact() did not install the new artifact")
    events.wait_for("artifact_download_succeeded")
    second = _decide_all(client)
    changed = _table(printer, second, first)
    printer.line(f"   {style.warn(str(changed))} decisions changed, live, without a restart")

    printer.step("Fault: the emulator's CDN answers HTTP 500 (POST /_admin/faults)")
    _admin(http, "POST", "/_admin/faults", json={"status": 500, "scope": ["artifact"]})
    printer.note("client.refresh_artifact(): retried with backoff, then one event")
    client.refresh_artifact()
    events.wait_for("artifact_download_failed")
    _still_served(printer, client, second)

    printer.step("Fault: on-device decisioning disabled, the CDN answers 403")
    _admin(http, "POST", "/_admin/faults", json={"on_device_disabled": True})
    client.refresh_artifact()
    events.wait_for("artifact_download_failed")
    _still_served(printer, client, second)
    _admin(http, "DELETE", "/_admin/faults")
    client.flush(2.0)


def _still_served(printer: _Printer, client: Any, expected: dict[str, dict[str, str]]) -> None:
    now = _decide_all(client)
    if now != expected:
        raise DemoFailed("decisions changed while the CDN was failing")
    count = sum(len(d) for d in now.values()) - len(now)  # minus the city entries
    printer.line(
        f"   {printer.style.good('decisions still served')}: {count} decisions for "
        f"{len(now)} visitors from the last good artifact (v2), unchanged"
    )


def demo_command(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    # The demo is self-contained: TARGETKIT_* settings meant for an app must not leak in.
    for name in [n for n in os.environ if n.startswith("TARGETKIT_")]:
        del os.environ[name]
    _quiet_library_logs(args.verbose)
    printer = _Printer(Style())
    try:
        run_demo(printer)
    except DemoFailed as err:
        print(f"targetkit: demo failed: {err}", file=sys.stderr)
        return 1
    printer.line()
    printer.line(
        printer.style.good(f"Done in {time.perf_counter() - started:.1f} s.")
        + " Next: targetkit serve, then run examples/ against it (see the README)."
    )
    return 0
