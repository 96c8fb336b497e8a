"""The emulator's web layer: a Starlette app routing HTTP requests to an :class:`Emulator`.

Routes:

* ``GET|HEAD /{client}/{environment}/v1/[{property_token}/]rules.json|rules.bin``: the
  artifact, with a strong ETag; ``If-None-Match`` that matches gets 304;
* ``POST /rest/v1/delivery``: decided by the engine (see ``edge.py``);
* ``GET /v1/geo``: the geo table's answer for the first ``x-forwarded-for`` IP (else the
  caller's own address);
* ``GET|POST|DELETE /_admin/faults``, ``GET|POST /_admin/artifact``, ``GET /_admin/stats``,
  ``GET /_admin/notifications``: control and inspection, never faulted;
* ``GET /``: where everything is, and client options pointing at this emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from targetkit.errors import TargetError
from targetkit.serve.edge import EdgeAnswer
from targetkit.serve.emulator import Emulator
from targetkit.serve.faults import FaultError, parse_faults

__all__ = ["RELOAD_CHECK_S", "create_app"]

logger = logging.getLogger(__name__)

#: How often ``--reload`` looks at the artifact file (s); requests also check it.
RELOAD_CHECK_S = 0.5


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), status, headers=headers, media_type="application/json")


def _error(status: int, message: str) -> Response:
    return _json(status, {"status": status, "message": message})


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or etag in tags or f"W/{etag}" in tags


def _caller_ip(request: Request) -> str | None:
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[0].strip() or None
    return request.client.host if request.client else None


async def _faulted(emulator: Emulator, scope: str) -> Response | None:
    """Apply the faults for one request: sleep, then maybe an error answer."""
    verdict = emulator.faults.verdict(scope)
    if verdict.delay_s:
        await asyncio.sleep(verdict.delay_s)
    if verdict.status is None:
        return None
    emulator.stats.bump("faults_injected")
    return _error(verdict.status, verdict.message or "injected fault")


def _artifact_endpoint(emulator: Emulator) -> Any:
    async def artifact(request: Request) -> Response:
        params = request.path_params
        artifact_format = emulator.artifact_format_for(
            params["client"], params["environment"], params["rest"]
        )
        if artifact_format is None:
            return _error(404, f"no artifact at {request.url.path}")
        emulator.stats.bump("artifact_requests")
        failed = await _faulted(emulator, "artifact")
        if failed is not None:
            return failed
        emulator.store.check_reload()
        served = emulator.store.current
        if artifact_format == "bin":
            body, etag, media = served.bin_body, served.bin_etag, "application/octet-stream"
        else:
            body, etag, media = served.json_body, served.json_etag, "application/json"
        headers = {"ETag": etag, "Cache-Control": "max-age=0, must-revalidate"}
        if _etag_matches(request.headers.get("if-none-match"), etag):
            emulator.stats.bump("artifact_not_modified")
            return Response(status_code=304, headers=headers)
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(body))
            return Response(status_code=200, headers=headers, media_type=media)
        return Response(body, 200, headers=headers, media_type=media)

    return artifact


def _delivery_endpoint(emulator: Emulator) -> Any:
    async def delivery(request: Request) -> Response:
        failed = await _faulted(emulator, "delivery")
        if failed is not None:
            emulator.stats.bump("delivery_requests")
            return failed
        emulator.store.check_reload()
        answer: EdgeAnswer = emulator.edge.handle(
            await request.body(), request.query_params, _caller_ip(request)
        )
        if answer.body is None:
            return Response(status_code=answer.status, headers=answer.headers)
        return _json(answer.status, answer.body, answer.headers)

    return delivery


def _geo_endpoint(emulator: Emulator) -> Any:
    async def geo(request: Request) -> Response:
        emulator.stats.bump("geo_requests")
        failed = await _faulted(emulator, "geo")
        if failed is not None:
            return failed
        ip = _caller_ip(request)
        return _json(200, emulator.geo.lookup(ip) if ip else {})

    return geo


async def _json_body(request: Request) -> Any:
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError as err:
        raise FaultError(f"body is not valid JSON: {err}") from err


def _faults_endpoint(emulator: Emulator) -> Any:
    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            emulator.faults.clear()
        elif request.method == "POST":
            try:
                settings, seed = parse_faults(await _json_body(request))
            except FaultError as err:
                return _error(400, str(err))
            emulator.faults.set(settings, seed)
            logger.info("faults set: %s", settings.to_json())
        return _json(200, emulator.faults.settings.to_json())

    return faults


def _artifact_admin_endpoint(emulator: Emulator) -> Any:
    async def artifact_admin(request: Request) -> Response:
        if request.method == "POST":
            label = request.query_params.get("label") or "artifact posted to /_admin/artifact"
            try:
                emulator.store.replace(await request.body(), label)
            except TargetError as err:
                return _error(400, f"artifact rejected, the previous one keeps serving: {err}")
        served = emulator.store.current
        return _json(
            200,
            {
                "source": served.label,
                "version": served.version,
                "serial": served.serial,
                "etag": served.json_etag,
                "bin_etag": served.bin_etag,
                "size_bytes": len(served.json_body),
            },
        )

    return artifact_admin


def _stats_endpoint(emulator: Emulator) -> Any:
    async def stats(request: Request) -> Response:
        return _json(200, emulator.stats.snapshot())

    return stats


def _notifications_endpoint(emulator: Emulator) -> Any:
    async def notifications(request: Request) -> Response:
        return _json(200, emulator.stats.recent_notifications())

    return notifications


def _info_endpoint(emulator: Emulator) -> Any:
    async def info(request: Request) -> Response:
        return _json(200, emulator.info(_base_url(request)))

    return info


async def _watch(emulator: Emulator) -> None:
    while True:
        await asyncio.sleep(RELOAD_CHECK_S)
        try:
            if emulator.store.check_reload():
                logger.warning(
                    "artifact file changed: now serving version %s, ETag %s",
                    emulator.store.current.version,
                    emulator.store.current.json_etag,
                )
        except Exception:  # the watcher must outlive any surprise; log it and go on
            logger.exception("artifact watcher failed")


def create_app(emulator: Emulator) -> Starlette:
    """The ASGI app serving ``emulator``."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        watcher = asyncio.create_task(_watch(emulator)) if emulator.store.watching else None
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    routes = [
        Route("/", _info_endpoint(emulator), methods=["GET"]),
        Route("/rest/v1/delivery", _delivery_endpoint(emulator), methods=["POST"]),
        Route("/v1/geo", _geo_endpoint(emulator), methods=["GET"]),
        Route("/_admin/faults", _faults_endpoint(emulator), methods=["GET", "POST", "DELETE"]),
        Route("/_admin/artifact", _artifact_admin_endpoint(emulator), methods=["GET", "POST"]),
        Route("/_admin/stats", _stats_endpoint(emulator), methods=["GET"]),
        Route("/_admin/notifications", _notifications_endpoint(emulator), methods=["GET"]),
        Route(
            "/{client}/{environment}/v1/{rest:path}",
            _artifact_endpoint(emulator),
            methods=["GET", "HEAD"],
        ),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
