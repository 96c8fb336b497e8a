"""``targetkit serve``: the local Target edge emulator in the foreground."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from targetkit.cli.common import CliError
from targetkit.cli.style import Style
from targetkit.errors import TargetError
from targetkit.serve.config import DEFAULT_LOCATION_HINT, DEMO_ORGANIZATION_ID, EmulatorConfig
from targetkit.serve.emulator import Emulator
from targetkit.serve.faults import FaultError
from targetkit.serve.geo import GeoTableError

__all__ = ["DEFAULT_PORT", "add_parser"]

DEFAULT_PORT = 8080

DESCRIPTION = """\
Serve a local emulator of the Adobe Target edge over an artifact (the bundled demo
artifact unless --artifact is given): the CDN paths rules.json and rules.bin (ETag/304),
POST /rest/v1/delivery decided by targetkit's engine, GET /v1/geo, and fault injection
(flags here, or POST/DELETE /_admin/faults at run time). Ctrl-C stops it.
"""


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "serve", help="run the local Target edge emulator", description=DESCRIPTION
    )
    parser.add_argument("--artifact", metavar="FILE|URL", help="default: the bundled demo artifact")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0 picks a free one"
    )
    parser.add_argument("--client", help="client code (default: the artifact's meta.clientCode)")
    parser.add_argument("--environment", default="production", help="environment in the CDN path")
    parser.add_argument("--property-token", metavar="TOKEN", help="property token in the CDN path")
    parser.add_argument(
        "--organization-id",
        metavar="ORG",
        default=DEMO_ORGANIZATION_ID,
        help="organization id rules.bin is obfuscated with",
    )
    parser.add_argument("--geo-file", metavar="FILE", help="IP -> x-geo-* table (JSON)")
    parser.add_argument(
        "--reload", action="store_true", help="watch the artifact file; serve it when it changes"
    )
    parser.add_argument(
        "--latency-ms", type=int, default=0, metavar="MS", help="delay every answer by MS"
    )
    parser.add_argument(
        "--error-rate",
        type=float,
        default=0.0,
        metavar="R",
        help="fail a share R (0..1) of requests",
    )
    parser.add_argument(
        "--error-status", type=int, metavar="STATUS", help="status of injected errors (default 500)"
    )
    parser.add_argument(
        "--on-device-disabled", action="store_true", help="answer 403 on the artifact paths"
    )
    parser.add_argument(
        "--location-hint", default=DEFAULT_LOCATION_HINT, help="edge cluster in tntIds, edgeHost"
    )
    parser.add_argument("--access-log", action="store_true", help="log every request")
    parser.set_defaults(handler=serve_command)


def _config(args: argparse.Namespace) -> EmulatorConfig:
    if not 0 <= args.port <= 65535:
        raise CliError(f"--port must be 0..65535, got {args.port}")
    if args.reload and (args.artifact is None or "://" in args.artifact):
        raise CliError("--reload watches an artifact file: give --artifact FILE")
    return EmulatorConfig(
        artifact=args.artifact,
        host=args.host,
        port=args.port,
        client=args.client,
        environment=args.environment,
        property_token=args.property_token,
        organization_id=args.organization_id,
        geo_file=args.geo_file,
        reload=args.reload,
        latency_ms=args.latency_ms,
        error_rate=args.error_rate,
        error_status=args.error_status,
        on_device_disabled=args.on_device_disabled,
        location_hint=args.location_hint,
        access_log=args.access_log,
    )


def build_emulator(config: EmulatorConfig) -> Emulator:
    """The emulator for ``config``; CliError for a bad artifact, geo table or flag."""
    try:
        return Emulator(config)
    except FileNotFoundError as err:
        raise CliError(f"file not found: {err.filename}") from err
    except OSError as err:
        raise CliError(f"cannot read {err.filename}: {err.strerror or err}") from err
    except (TargetError, GeoTableError, FaultError) as err:
        raise CliError(str(err)) from err


def banner(emulator: Emulator, url: str, style: Style) -> list[str]:
    """What ``serve`` prints once listening: where everything is, how to point a client."""
    served = emulator.store.current
    faults = emulator.faults.settings
    options = emulator.client_options(url)
    watching = " (watching for changes)" if emulator.store.watching else ""
    lines = [
        f"{style.bold('targetkit emulator listening on')} {style.accent(url)}",
        f"  artifact   {served.label}, version {served.version}{watching}",
        f"  rules.json {url}{emulator.artifact_path('json')}   ETag {served.json_etag}",
        f"  rules.bin  {url}{emulator.artifact_path('bin')}   "
        f"(organization id {emulator.config.organization_id})",
        f"  delivery   POST {url}/rest/v1/delivery   (client {emulator.client})",
        f"  geo        GET {url}/v1/geo   ({len(emulator.geo)} IPs)",
        f"  admin      {url}/_admin/faults (POST/DELETE), /_admin/artifact (POST), /_admin/stats",
        f"  faults     {faults.to_json() if faults.active else 'none'}",
        "Point a client at it (targetkit reads TARGETKIT_* variables):",
        f"  export TARGETKIT_CLIENT={options['client']} "
        f"TARGETKIT_ORGANIZATION_ID='{options['organization_id']}' "
        f"TARGETKIT_CDN_BASE_PATH={url} TARGETKIT_SERVER_DOMAIN={options['server_domain']} "
        "TARGETKIT_SECURE=false",
        style.dim("Press Ctrl-C to stop."),
    ]
    if emulator.config.property_token:
        lines.insert(-1, f"  export TARGETKIT_PROPERTY_TOKEN={emulator.config.property_token}")
    return lines


def serve_command(args: argparse.Namespace) -> int:
    from targetkit.serve.server import run

    config = _config(args)
    emulator = build_emulator(config)
    style = Style()

    def started(emulator: Emulator, url: str) -> None:
        print("\n".join(banner(emulator, url, style)), flush=True)

    # SIGTERM stops as cleanly as Ctrl-C: uvicorn shuts down gracefully, then re-raises
    # the signal, which this handler turns into KeyboardInterrupt.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        run(config, started, emulator)
    except KeyboardInterrupt:
        pass
    except OSError as err:
        raise CliError(
            f"cannot listen on {config.host}:{config.port}: {err.strerror or err}"
        ) from err
    print("targetkit emulator stopped", file=sys.stderr, flush=True)
    return 0
