"""A FastAPI app deciding with the asyncio :class:`targetkit.AsyncTargetClient`.

One client per app, created in the lifespan (it needs the running loop) and closed
with it. The visitor's ``mbox`` cookie goes into every ``get_offers`` call and the
cookie Target returns goes back to the browser, so a visitor keeps their tntId, and
with it their experience, across requests. Options come from ``TARGETKIT_*`` variables
(run ``targetkit serve`` and export what it prints; ``TARGETKIT_DECISIONING_METHOD``
picks server-side, the default, on-device or hybrid)::

    uvicorn --app-dir examples fastapi_app:app --port 8000
    curl -c jar -b jar http://127.0.0.1:8000/
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request, Response

import targetkit

MBOX = "homepage-hero"


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with targetkit.AsyncTargetClient.create() as client:  # options from TARGETKIT_*
        await client.wait_until_ready(timeout=5)  # seconds; server-side is ready at once
        app.state.target = client
        yield


app = FastAPI(lifespan=lifespan)


def _set_cookie(response: Response, cookie: dict[str, Any] | None) -> None:
    """Target's cookies are ``{"name", "value", "maxAge"}`` dicts (maxAge in seconds)."""
    if cookie:
        response.set_cookie(cookie["name"], cookie["value"], max_age=cookie["maxAge"])


@app.get("/")
async def home(request: Request, response: Response) -> dict[str, Any]:
    client: targetkit.AsyncTargetClient = request.app.state.target
    result = await client.get_offers(
        {
            "request": {
                "context": {
                    "channel": "web",
                    "address": {"url": str(request.url)},
                    "userAgent": request.headers.get("user-agent", ""),
                },
                "execute": {"mboxes": [{"name": MBOX, "index": 0}]},
            },
            "target_cookie": request.cookies.get("mbox"),
            "target_location_hint": request.cookies.get("mboxEdgeCluster"),
        }
    )
    (hero,) = result["response"]["execute"]["mboxes"]
    option = (hero.get("options") or [{}])[0]
    _set_cookie(response, result.get("target_cookie"))
    _set_cookie(response, result.get("target_location_hint_cookie"))
    return {
        "visitor": result["response"]["id"].get("tntId"),
        "experience": (option.get("responseTokens") or {}).get("experience.name"),
        "hero": option.get("content"),
        "decided": result["meta"]["decisioning_method"],
    }
