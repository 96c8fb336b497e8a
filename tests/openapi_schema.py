"""Validate Delivery API payloads against the vendored OpenAPI 3.0 spec in ``tests/openapi``.

The spec is split over many YAML files joined by relative ``$ref``s. We bundle every schema
reachable from the Delivery operation into one JSON Schema document (``definitions`` + local refs)
and validate with Draft 4 semantics, the closest JSON Schema draft to OpenAPI 3.0's Schema Object.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SPEC_DIR = Path(__file__).parent / "openapi"
API_FILE = SPEC_DIR / "delivery" / "api.yaml"
DELIVERY_PATH = "/rest/v1/delivery"

# Keywords that only exist in OpenAPI (or are mere annotations): JSON Schema must not see them.
_OPENAPI_ONLY = frozenset(
    {"nullable", "discriminator", "example", "externalDocs", "xml", "deprecated", "readOnly"}
    | {"writeOnly"}
)
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "definitions"})
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf"})
_SCHEMA_SINGLE = frozenset({"items", "additionalProperties", "not"})

# The spec documents sessionId as printable, 1-128 chars, without space, '?' or '/'.
_SESSION_ID_RE = re.compile(r"^[!-~]{1,128}$")

_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


class _Bundler:
    """Inline a multi-file OpenAPI schema graph into one JSON Schema with ``definitions``."""

    def __init__(self) -> None:
        self._docs: dict[Path, Any] = {}
        self.definitions: dict[str, Any] = {}
        self.errata: list[str] = []

    def document(self, path: Path) -> Any:
        path = path.resolve()
        if path not in self._docs:
            self._docs[path] = yaml.safe_load(path.read_text(encoding="utf-8"))
        return self._docs[path]

    def target(self, base: Path, ref: str) -> tuple[Path, str, Any]:
        """Resolve ``ref`` relative to the file ``base``: (file, json pointer, raw node)."""
        file_part, _, pointer = ref.partition("#")
        path = (base.parent / file_part).resolve() if file_part else base.resolve()
        node = self.document(path)
        for token in (t for t in pointer.split("/") if t):
            node = node[token.replace("~1", "/").replace("~0", "~")]
        return path, pointer, node

    def ref(self, base: Path, ref: str) -> dict[str, str]:
        path, pointer, raw = self.target(base, ref)
        rel = path.relative_to(SPEC_DIR.resolve()).with_suffix("")
        key = ".".join(rel.parts) + pointer.replace("/", ".")
        if key not in self.definitions:
            self.definitions[key] = {}  # placeholder first: the graph may be cyclic
            self.definitions[key] = self.schema(raw, path)
        return {"$ref": f"#/definitions/{key}"}

    def schema(self, node: Any, base: Path) -> Any:
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            # OpenAPI 3.0 (like Draft 4) ignores keywords beside $ref, e.g. descriptions.
            return self.ref(base, node["$ref"])
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _OPENAPI_ONLY or key.startswith("x-"):
                continue
            if key in _SCHEMA_MAPS:
                out[key] = {name: self.schema(sub, base) for name, sub in value.items()}
            elif key in _SCHEMA_LISTS:
                out[key] = [self.schema(sub, base) for sub in value]
            elif key in _SCHEMA_SINGLE and isinstance(value, dict):
                out[key] = self.schema(value, base)
            else:
                out[key] = value
        if "required" in out:
            out["required"] = self._known_required(node, base)
        return _apply_nullable(node, out)

    def _known_required(self, node: dict[str, Any], base: Path) -> list[str]:
        """Drop required names the schema never defines (spec typos, e.g. MboxRequest's 'mbox')."""
        known = self._property_names(node, base)
        kept = [name for name in node["required"] if name in known]
        for name in node["required"]:
            if name not in known:
                self.errata.append(f"ignored required property {name!r} with no definition")
        return kept

    def _property_names(self, node: dict[str, Any], base: Path) -> set[str]:
        if "$ref" in node:
            path, _, raw = self.target(base, node["$ref"])
            return self._property_names(raw, path)
        names = set(node.get("properties", {}))
        for sub in node.get("allOf", []):
            names |= self._property_names(sub, base)
        return names


def _apply_nullable(raw: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    """Translate OpenAPI's ``nullable: true`` into JSON Schema's null type."""
    if raw.get("nullable") is not True:
        return out
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    if isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
        return out
    return {"anyOf": [{"type": "null"}, out]}


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())
    for name, (low, high) in _INT_RANGES.items():
        checker.checks(name)(_int_range_check(low, high))
    return checker


def _int_range_check(low: int, high: int) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        return not isinstance(value, int) or isinstance(value, bool) or low <= value <= high

    return check


@cache
def _operation() -> dict[str, Any]:
    api = yaml.safe_load(API_FILE.read_text(encoding="utf-8"))
    op: dict[str, Any] = api["paths"][DELIVERY_PATH]["post"]
    return op


@cache
def _bundle(which: str) -> tuple[dict[str, Any], tuple[str, ...]]:
    op = _operation()
    if which == "request":
        raw = op["requestBody"]["content"]["application/json"]["schema"]
    else:
        # YAML reads unquoted status codes as integers.
        responses = op["responses"]
        response = responses[int(which)] if which.isdigit() else responses[which]
        raw = response["content"]["application/json"]["schema"]
    bundler = _Bundler()
    root = bundler.schema(raw, API_FILE)
    doc = {"allOf": [root], "definitions": bundler.definitions}
    return doc, tuple(dict.fromkeys(bundler.errata))


@cache
def _validator(which: str) -> jsonschema.Draft4Validator:
    doc, _ = _bundle(which)
    jsonschema.Draft4Validator.check_schema(doc)
    return jsonschema.Draft4Validator(doc, format_checker=_format_checker())


def _messages(validator: jsonschema.Draft4Validator, body: Any) -> list[str]:
    errors = sorted(validator.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}" for e in errors]


def delivery_request_schema() -> dict[str, Any]:
    """The bundled JSON Schema (Draft 4) of the DeliveryRequest body."""
    return _bundle("request")[0]


def spec_errata() -> tuple[str, ...]:
    """What the loader had to correct in the spec to make it usable (for transparency)."""
    return _bundle("request")[1] + _bundle("200")[1]


def validate_delivery_request(body: Any) -> list[str]:
    """Spec violations of a DeliveryRequest body, as 'json/path: message'; empty when valid."""
    return _messages(_validator("request"), body)


def validate_delivery_response(body: Any) -> list[str]:
    """Spec violations of a 200 DeliveryResponse body; empty when valid."""
    return _messages(_validator("200"), body)


def validate_error_body(body: Any) -> list[str]:
    """Spec violations of an error body (``{"status": int, "message": str}``)."""
    return _messages(_validator("default"), body)


def validate_delivery_query(query: Mapping[str, str]) -> list[str]:
    """Check the Delivery query string against the spec's parameters (required ones, sessionId)."""
    problems = [
        f"query: missing required parameter {p['name']!r}"
        for p in _operation()["parameters"]
        if p.get("in") == "query" and p.get("required") and not query.get(p["name"])
    ]
    session_id = query.get("sessionId")
    if session_id and (not _SESSION_ID_RE.match(session_id) or set(session_id) & set("?/")):
        problems.append(f"query: invalid sessionId {session_id!r}")
    return problems
