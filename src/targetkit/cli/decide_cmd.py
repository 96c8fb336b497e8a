"""``targetkit decide``: decide one Delivery request on-device, offline, and print it."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from targetkit.cli.common import CliError, dumps, load_artifact_input, read_json
from targetkit.cli.explain import explain_response
from targetkit.cli.style import Style
from targetkit.core import ClientCore, LoadedArtifact
from targetkit.errors import TargetError
from targetkit.options import parse_options
from targetkit.serve.config import DEMO_CLIENT, DEMO_ORGANIZATION_ID

__all__ = ["add_parser"]

DESCRIPTION = """\
Decide a Delivery API request against an artifact, on-device and without network, and
print the Delivery response as JSON. Give the request as a file (--request: a Delivery
request, or get_offers options with a "request" key) or build it with flags. --trace
shows, for each location, which rules matched and why.
"""


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "decide", help="decide a request on-device and print the response", description=DESCRIPTION
    )
    parser.add_argument("--artifact", metavar="FILE|URL", required=True, help="rules.json/.bin")
    parser.add_argument("--request", metavar="FILE", help="request JSON")
    parser.add_argument(
        "--mbox", action="append", default=[], metavar="NAME", help="an mbox to execute (repeat)"
    )
    parser.add_argument(
        "--prefetch", action="store_true", help="prefetch the --mbox locations, not execute"
    )
    parser.add_argument(
        "--view", action="append", default=[], metavar="NAME", help="a view to prefetch (repeat)"
    )
    parser.add_argument("--page-load", action="store_true", help="execute the page load")
    parser.add_argument("--url", help="page URL (context.address.url)")
    parser.add_argument("--user-agent", help="context.userAgent")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="mbox parameter for every location (repeat)",
    )
    parser.add_argument("--tnt-id", help="visitor tntId (default: a new visitor)")
    parser.add_argument("--client", help="client code (default: the artifact's)")
    parser.add_argument("--organization-id", metavar="ORG", help="to read a rules.bin")
    parser.add_argument("--trace", action="store_true", help="explain which rules matched, why")
    parser.add_argument(
        "--json", action="store_true", help="with --trace: print the JSON with its trace"
    )
    parser.add_argument("--envelope", action="store_true", help="print get_offers' whole envelope")
    parser.set_defaults(handler=decide_command)


def _params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--param expects KEY=VALUE, got {pair!r}")
        params[key] = value
    return params


def _from_file(path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(get_offers options without the request, the request) from a request file."""
    loaded = read_json(path, "request")
    if not isinstance(loaded, dict):
        raise CliError(f"request {path} must hold a JSON object")
    if isinstance(loaded.get("request"), dict):
        options = {k: v for k, v in loaded.items() if k != "request"}
        return options, dict(loaded["request"])
    return {}, loaded


def _apply_flags(request: dict[str, Any], args: argparse.Namespace) -> None:
    params = _params(args.param)
    context = dict(request.get("context") or {})
    context.setdefault("channel", "web")
    if args.url:
        context["address"] = {**(context.get("address") or {}), "url": args.url}
    if args.user_agent:
        context["userAgent"] = args.user_agent
    request["context"] = context
    if args.tnt_id:
        request["id"] = {**(request.get("id") or {}), "tntId": args.tnt_id}
    mode = "prefetch" if args.prefetch else "execute"
    if args.mbox:
        part = dict(request.get(mode) or {})
        mboxes = list(part.get("mboxes") or [])
        for name in args.mbox:
            item: dict[str, Any] = {"name": name, "index": len(mboxes)}
            if params:
                item["parameters"] = params
            mboxes.append(item)
        part["mboxes"] = mboxes
        request[mode] = part
    if args.view:
        prefetch = dict(request.get("prefetch") or {})
        prefetch["views"] = list(prefetch.get("views") or []) + [
            {"name": name, **({"parameters": params} if params else {})} for name in args.view
        ]
        request["prefetch"] = prefetch
    if args.page_load:
        execute = dict(request.get("execute") or {})
        execute["pageLoad"] = {"parameters": params} if params else {}
        request["execute"] = execute
    if args.trace:
        request["trace"] = {}


def _requested(request: Mapping[str, Any], kind: str) -> list[str]:
    names = []
    for mode in ("execute", "prefetch"):
        part = request.get(mode)
        items = part.get(kind) if isinstance(part, Mapping) else None
        for item in items if isinstance(items, list) else ():
            if isinstance(item, Mapping) and isinstance(item.get("name"), str):
                names.append(item["name"])
    return names


def _check_known(request: Mapping[str, Any], loaded: LoadedArtifact) -> None:
    compiled = loaded.compiled
    known_mboxes = set(compiled.mboxes) | compiled.local_mboxes | set(compiled.remote_mboxes)
    known_mboxes.add(compiled.global_mbox)
    for name in _requested(request, "mboxes"):
        if name not in known_mboxes:
            listed = ", ".join(sorted(known_mboxes)) or "none"
            raise CliError(f"unknown mbox {name!r}: the artifact has {listed}")
    known_views = set(compiled.views) | compiled.local_views | set(compiled.remote_views)
    for name in _requested(request, "views"):
        if name not in known_views:
            listed = ", ".join(sorted(known_views)) or "none"
            raise CliError(f"unknown view {name!r}: the artifact has {listed}")


def decide_command(args: argparse.Namespace) -> int:
    artifact = load_artifact_input(args.artifact, args.organization_id)
    options, request = _from_file(args.request) if args.request else ({}, {})
    _apply_flags(request, args)
    if not any(isinstance(request.get(mode), dict) for mode in ("execute", "prefetch")):
        raise CliError("nothing to decide: give --request, --mbox, --view or --page-load")
    meta = artifact.raw.get("meta")
    client = args.client or (meta.get("clientCode") if isinstance(meta, dict) else None)
    try:
        core = ClientCore(
            parse_options(
                {
                    "client": client or DEMO_CLIENT,
                    "organization_id": args.organization_id or DEMO_ORGANIZATION_ID,
                    "decisioning_method": "on-device",
                    "telemetry_enabled": False,
                },
                environ={},
            )
        )
        loaded = core.compile(artifact.raw, artifact.label, None)
        core.install(loaded)
        _check_known(request, loaded)
        prepared = core.prepare({**options, "request": request})
        envelope, _ = core.decide_local(prepared, loaded)
    except TargetError as err:
        raise CliError(str(err)) from err
    if args.trace and not args.json:
        _print_explanation(envelope["response"], loaded)
        return 0
    print(dumps(envelope if args.envelope else envelope["response"]))
    return 0


def _print_explanation(response: Mapping[str, Any], loaded: LoadedArtifact) -> None:
    compiled = loaded.compiled
    names: dict[Any, str] = {}
    activities_at: dict[str, set[Any]] = {}
    for groups in (compiled.mboxes, compiled.views):
        for location, rules in groups.items():
            for rule in rules:
                names[rule.activity_id] = str(rule.meta.get("activity.name", ""))
                activities_at.setdefault(location, set()).add(rule.activity_id)
    lines = explain_response(response, names, activities_at, compiled.global_mbox, Style())
    print("\n".join(lines))
