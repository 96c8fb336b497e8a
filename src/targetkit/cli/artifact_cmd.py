"""``targetkit artifact inspect`` and ``targetkit artifact decode``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from targetkit.artifact.obfuscation import deobfuscate
from targetkit.cli.common import CliError, dumps, load_artifact_input, read_bytes
from targetkit.cli.style import Style
from targetkit.cli.summary import summarize
from targetkit.errors import DeobfuscationError

__all__ = ["add_parsers"]

_TYPE_NAMES = {
    "ab": "A/B test",
    "landing": "experience targeting",
    "xt": "experience targeting",
    "af": "auto-allocate",
    "at": "auto-target",
    "ap": "automated personalization",
    "rec": "recommendations",
    "mvt": "multivariate test",
}


def add_parsers(sub: Any) -> None:
    artifact = sub.add_parser(
        "artifact", help="inspect or decode a decisioning artifact", description=__doc__
    )
    commands = artifact.add_subparsers(dest="artifact_command", metavar="COMMAND", required=True)

    inspect = commands.add_parser(
        "inspect",
        help="version, mboxes, views, activities, audiences, allocations and size",
        description="Summarize a rules.json (or rules.bin, with --organization-id): version, "
        "mboxes and views, activities with their types, audiences and allocations, and size.",
    )
    inspect.add_argument("artifact", metavar="FILE|URL", help="rules.json or rules.bin")
    inspect.add_argument("--json", action="store_true", help="print the report as JSON")
    inspect.add_argument(
        "--organization-id", metavar="ORG", help="organization id, to read a rules.bin"
    )
    inspect.set_defaults(handler=inspect_command)

    decode = commands.add_parser(
        "decode",
        help="turn a rules.bin back into rules.json",
        description="Deobfuscate a rules.bin with its organization id and write the JSON.",
    )
    decode.add_argument("artifact", metavar="FILE|URL", help="rules.bin")
    decode.add_argument("--organization-id", metavar="ORG", required=True)
    decode.add_argument(
        "-o", "--output", metavar="FILE", help="write here instead of standard output"
    )
    decode.add_argument("--pretty", action="store_true", help="indent the JSON")
    decode.set_defaults(handler=decode_command)


def inspect_command(args: argparse.Namespace) -> int:
    loaded = load_artifact_input(args.artifact, args.organization_id)
    report = summarize(loaded.raw, loaded.size_bytes, loaded.label)
    report["obfuscated"] = loaded.obfuscated
    if args.json:
        print(dumps(report))
    else:
        print("\n".join(render_report(report, Style())))
    return 0


def _size(size_bytes: int) -> str:
    if size_bytes < 1024:
        return f"{size_bytes} B"
    if size_bytes < 1024 * 1024:
        return f"{size_bytes / 1024:.1f} KiB"
    return f"{size_bytes / (1024 * 1024):.1f} MiB"


def _names(group: dict[str, list[str]]) -> str:
    local = ", ".join(group["local"]) or "none"
    remote = ", ".join(group["remote"]) or "none"
    return f"{local}  (remote: {remote})"


def _share(experience: dict[str, Any]) -> str:
    percent = experience["allocation_percent"]
    if percent is None:
        return "by audience"
    return f"{percent:g}%"


def render_report(report: dict[str, Any], style: Style) -> list[str]:
    """The inspection report as text lines."""
    kind = "rules.bin" if report.get("obfuscated") else "rules.json"
    lines = [
        f"{style.bold('Artifact')}    {report['source']}  ({kind}, {_size(report['size_bytes'])})",
        f"{style.bold('Version')}     {report['version']}   client {report['client_code'] or '-'}"
        f"   environment {report['environment'] or '-'}"
        + (f"   generated {report['generated_at']}" if report["generated_at"] else ""),
        f"{style.bold('Mboxes')}      {_names(report['mboxes'])}",
        f"{style.bold('Views')}       {_names(report['views'])}",
        f"{style.bold('Global mbox')} {report['global_mbox']}   geo targeting "
        + ("on" if report["geo_targeting_enabled"] else "off")
        + f"   {report['rule_count']} rules",
        "",
        style.bold(f"Activities ({len(report['activities'])})"),
    ]
    for activity in report["activities"]:
        where = ", ".join(f"{loc['type']} {loc['name']}" for loc in activity["locations"])
        kind_name = _TYPE_NAMES.get(str(activity["type"]), str(activity["type"]))
        lines.append(
            f"  {style.accent(str(activity['id']))}  {style.bold(str(activity['name']))}"
            f"  [{kind_name}]  {where}"
        )
        audiences = ", ".join(map(str, activity["audiences"])) or "all visitors"
        lines.append(f"      audiences: {audiences}")
        if activity["property_tokens"]:
            lines.append(f"      property tokens: {', '.join(activity['property_tokens'])}")
        for experience in activity["experiences"]:
            audience = ", ".join(map(str, experience["audiences"]))
            lines.append(
                f"      - {experience['name']} (experience {experience['id']}): "
                f"{_share(experience)}" + (f", audiences {audience}" if audience else "")
            )
    if not report["activities"]:
        lines.append("  none")
    return lines


def decode_command(args: argparse.Namespace) -> int:
    payload, label = read_bytes(args.artifact, "rules.bin")
    try:
        plain = deobfuscate(payload, args.organization_id)
    except DeobfuscationError as err:
        raise CliError(f"{label}: {err}") from err
    if args.pretty:
        import orjson

        plain = orjson.dumps(orjson.loads(plain), option=orjson.OPT_INDENT_2) + b"\n"
    if args.output:
        try:
            Path(args.output).write_bytes(plain)
        except OSError as err:
            raise CliError(f"cannot write {args.output}: {err.strerror or err}") from err
        print(f"wrote {len(plain)} bytes of JSON to {args.output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(plain)
        sys.stdout.buffer.flush()
    return 0
