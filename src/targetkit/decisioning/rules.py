"""Compiling an artifact's rules once, so that a request only does request-dependent work.

An artifact holds ``rules.mboxes`` and ``rules.views``: lists of rules keyed by location
name. Each rule is compiled into a :class:`CompiledRule` when the artifact is accepted:
its JSON Logic condition is checked for unknown operators (and turned into a Python
function the first time a request evaluates it), its per-activity constants (the allocation
hash prefix, the response tokens taken from ``meta``) are computed, and the parts of the
response that never depend on the request (option lists for execute and for prefetch,
click metrics, notification tokens) are built up front and shared.

Shared parts are never mutated by the engine; responses reference them, so callers must
treat response contents as read-only (documented in the README).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from targetkit.decisioning.jsonlogic import OPERATORS, Rule, compile_logic, scan_logic
from targetkit.decisioning.jsvalues import js_string
from targetkit.errors import ArtifactSchemaError

__all__ = [
    "CompiledArtifact",
    "CompiledRule",
    "compile_artifact",
]

logger = logging.getLogger(__name__)

DEFAULT_GLOBAL_MBOX = "target-global-mbox"

#: Rule ``meta`` keys copied into each option's ``responseTokens`` when the artifact lists them.
META_RESPONSE_TOKENS = (
    "activity.id",
    "activity.name",
    "activity.type",
    "experience.id",
    "experience.name",
    "location.id",
    "location.name",
    "location.type",
    "offer.id",
    "offer.name",
    "option.id",
    "option.name",
)

#: The response token every on-device option carries.
DECISIONING_METHOD_TOKEN = "activity.decisioningMethod"

#: Response-token name -> key of the geo context it comes from.
GEO_RESPONSE_TOKENS = (
    ("geo.city", "city"),
    ("geo.country", "country"),
    ("geo.state", "region"),
    ("geo.latitude", "latitude"),
    ("geo.longitude", "longitude"),
)

_MACRO_MARK = re.compile(r"\$\{[a-zA-Z0-9_.]*?\}")


def _reads(variables: list[Any], name: str) -> bool:
    """True when one of these ``var`` operands reads the variable ``name`` or a key in it."""
    for args in variables:
        target = args[0] if isinstance(args, list) and args else args
        if target == name or (isinstance(target, str) and target.startswith(name + ".")):
            return True
    return False


def _has_macros(options: tuple[dict[str, Any], ...]) -> bool:
    """True when an html or actions option carries a ``${...}`` campaign macro."""
    for option in options:
        kind = option.get("type")
        content = option.get("content")
        if kind == "html" and isinstance(content, str) and _MACRO_MARK.search(content):
            return True
        if kind == "actions" and isinstance(content, list):
            for action in content:
                inner = action.get("content") if isinstance(action, dict) else None
                if isinstance(inner, str) and _MACRO_MARK.search(inner):
                    return True
    return False


def _execute_options(options: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
    """Options as an executed mbox returns them: no blank options, no event tokens."""
    result = []
    for option in options:
        if option.get("type") is None and option.get("content") is None:
            continue
        result.append({k: v for k, v in option.items() if k != "eventToken"})
    return tuple(result)


def _prefetch_options(
    options: tuple[dict[str, Any], ...], metrics: tuple[dict[str, Any], ...]
) -> tuple[dict[str, Any], ...]:
    """Options as a prefetched location returns them.

    An option without its own event token borrows the display metric's token at the same
    position: that is how view (VEC) activities carry their tokens in the artifact.
    """
    result = []
    for idx, option in enumerate(options):
        token = option.get("eventToken")
        if token is None and idx < len(metrics) and metrics[idx].get("type") == "display":
            token = metrics[idx].get("eventToken")
        copy = dict(option)
        copy["eventToken"] = token
        result.append(copy)
    return tuple(result)


def _never(data: Mapping[str, Any]) -> bool:
    return False


@dataclass(slots=True, eq=False)
class CompiledRule:
    """One artifact rule, compiled. Everything here is shared across requests.

    ``test`` evaluates the condition against a decisioning context. It starts as
    :meth:`_first_test`, which generates the condition's code and replaces itself: code
    generation costs ~0.2 ms per condition, so compiling all of a large artifact up front
    was most of a cold start, while a request only evaluates the rules of the locations
    it asks for. The replacement is a plain attribute store; threads racing on a first
    evaluation each compile an identical function and either one wins. No other field
    ever changes.
    """

    key: str
    activity_id: Any
    meta: Mapping[str, Any]
    condition: Any
    uses_allocation: bool
    device_prefix: str
    property_tokens: frozenset[str]
    name: str
    metrics: tuple[dict[str, Any], ...]
    meta_tokens: Mapping[str, Any]
    static_tokens: Mapping[str, Any]
    audience_ids: tuple[Any, ...]
    has_macros: bool
    execute_options: tuple[dict[str, Any], ...]
    click_metrics: tuple[dict[str, Any], ...]
    prefetch_options: tuple[dict[str, Any], ...]
    event_tokens: tuple[str, ...]
    test: Rule = field(init=False)
    #: The options with their ``responseTokens`` when the request adds none (no geo):
    #: the whole answer of the rule, built once and shared by every such response.
    execute_static: tuple[dict[str, Any], ...] = field(init=False)
    prefetch_static: tuple[dict[str, Any], ...] = field(init=False)

    def __post_init__(self) -> None:
        self.test = self._first_test
        tokens = self.static_tokens
        self.execute_static = tuple({**o, "responseTokens": tokens} for o in self.execute_options)
        self.prefetch_static = tuple({**o, "responseTokens": tokens} for o in self.prefetch_options)

    def _first_test(self, data: Mapping[str, Any]) -> Any:
        try:
            test = compile_logic(self.condition)
        except ArtifactSchemaError as err:
            # Unknown operators were rejected with the artifact; what is left is a
            # malformed operand list, which json-logic-js would throw on at every call.
            logger.error(
                "rule %r of activity %r never matches: %s", self.key, self.activity_id, err
            )
            test = _never
        self.test = test
        return test(data)

    def allowed_for(self, property_token: str | None) -> bool:
        """The property-token filter: untokened rules serve everyone, tokened ones only
        requests carrying one of their tokens."""
        if not self.property_tokens:
            return True
        return property_token is not None and property_token in self.property_tokens


@dataclass(frozen=True, slots=True)
class CompiledArtifact:
    """An accepted artifact, compiled for fast decisions."""

    raw: Mapping[str, Any]
    version: str
    global_mbox: str
    geo_targeting_enabled: bool
    response_tokens: frozenset[str]
    geo_tokens: tuple[tuple[str, str], ...]
    mboxes: Mapping[str, tuple[CompiledRule, ...]]
    views: Mapping[str, tuple[CompiledRule, ...]]
    all_view_rules: tuple[CompiledRule, ...]
    local_mboxes: frozenset[str]
    remote_mboxes: tuple[str, ...]
    local_views: frozenset[str]
    remote_views: tuple[str, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)


def _string_list(artifact: Mapping[str, Any], key: str) -> list[str]:
    value = artifact.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ArtifactSchemaError(
            f"artifact key {key!r} must be a list, got {type(value).__name__}"
        )
    return [item for item in value if isinstance(item, str)]


def _compile_rule(rule: Any, where: str, client: str, token_names: frozenset[str]) -> CompiledRule:
    if not isinstance(rule, dict):
        raise ArtifactSchemaError(f"{where}: a rule must be an object")
    meta = rule.get("meta") or {}
    consequence = rule.get("consequence") or {}
    if not isinstance(meta, dict) or not isinstance(consequence, dict):
        raise ArtifactSchemaError(f"{where}: rule meta and consequence must be objects")
    activity_id = meta.get("activity.id", rule.get("activityId"))
    raw_options = consequence.get("options") or []
    raw_metrics = consequence.get("metrics") or []
    if not isinstance(raw_options, list) or not isinstance(raw_metrics, list):
        raise ArtifactSchemaError(f"{where}: consequence options and metrics must be lists")
    options = tuple(o for o in raw_options if isinstance(o, dict))
    metrics = tuple(m for m in raw_metrics if isinstance(m, dict))
    condition = rule.get("condition", True)
    operators, variables = scan_logic(condition)
    unknown = operators - OPERATORS
    if unknown:
        raise ArtifactSchemaError(f"{where}: unknown JSON Logic operator {min(unknown)!r}")
    audience_ids = meta.get("audience.ids") or []
    meta_tokens = {
        k: meta[k] for k in META_RESPONSE_TOKENS if k in token_names and meta.get(k) is not None
    }
    return CompiledRule(
        key=str(rule.get("ruleKey", "")),
        activity_id=activity_id,
        meta=meta,
        condition=condition,
        uses_allocation=_reads(variables, "allocation"),
        device_prefix=f"{client}.{'' if activity_id is None else js_string(activity_id)}.",
        property_tokens=frozenset(
            t for t in (rule.get("propertyTokens") or []) if isinstance(t, str)
        ),
        name=str(consequence.get("name", "")),
        metrics=metrics,
        meta_tokens=meta_tokens,
        static_tokens={**meta_tokens, DECISIONING_METHOD_TOKEN: "on-device"},
        audience_ids=tuple(audience_ids) if isinstance(audience_ids, list) else (),
        has_macros=_has_macros(options),
        execute_options=_execute_options(options),
        click_metrics=tuple(m for m in metrics if m.get("type") == "click"),
        prefetch_options=_prefetch_options(options, metrics),
        event_tokens=tuple(
            o["eventToken"] for o in options if isinstance(o.get("eventToken"), str)
        ),
    )


def _compile_group(
    rules: Any, kind: str, client: str, token_names: frozenset[str]
) -> dict[str, tuple[CompiledRule, ...]]:
    if rules is None:
        return {}
    if not isinstance(rules, dict):
        raise ArtifactSchemaError(f"artifact key 'rules.{kind}' must be an object")
    compiled: dict[str, tuple[CompiledRule, ...]] = {}
    for name, items in rules.items():
        if not isinstance(items, list):
            raise ArtifactSchemaError(f"artifact key 'rules.{kind}.{name}' must be a list")
        compiled[name] = tuple(
            _compile_rule(rule, f"rules.{kind}.{name}[{i}]", client, token_names)
            for i, rule in enumerate(items)
        )
    return compiled


def compile_artifact(artifact: Mapping[str, Any], client: str) -> CompiledArtifact:
    """Compile a validated artifact for ``client`` (the allocation hash includes it).

    Raises :class:`ArtifactSchemaError` when a rule cannot be compiled; the caller keeps
    serving its previous artifact in that case.
    """
    rules = artifact.get("rules") or {}
    if not isinstance(rules, dict):
        raise ArtifactSchemaError("artifact key 'rules' must be an object")
    token_names = frozenset(_string_list(artifact, "responseTokens"))
    views = _compile_group(rules.get("views"), "views", client, token_names)
    meta = artifact.get("meta")
    return CompiledArtifact(
        raw=artifact,
        version=str(artifact.get("version", "")),
        global_mbox=str(artifact.get("globalMbox") or DEFAULT_GLOBAL_MBOX),
        geo_targeting_enabled=bool(artifact.get("geoTargetingEnabled", False)),
        response_tokens=token_names,
        geo_tokens=tuple(pair for pair in GEO_RESPONSE_TOKENS if pair[0] in token_names),
        mboxes=_compile_group(rules.get("mboxes"), "mboxes", client, token_names),
        views=views,
        all_view_rules=tuple(rule for group in views.values() for rule in group),
        local_mboxes=frozenset(_string_list(artifact, "localMboxes")),
        remote_mboxes=tuple(_string_list(artifact, "remoteMboxes")),
        local_views=frozenset(_string_list(artifact, "localViews")),
        remote_views=tuple(_string_list(artifact, "remoteViews")),
        meta=meta if isinstance(meta, dict) else {},
    )
