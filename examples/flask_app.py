"""A Flask app deciding with the sync :class:`targetkit.TargetClient`.

The visitor's ``mbox`` cookie goes into every ``get_offers`` call and the cookie Target
returns goes back to the browser, so a visitor keeps their tntId, and with it their
experience, across requests. Options come from ``TARGETKIT_*`` variables (run
``targetkit serve`` and export what it prints; ``TARGETKIT_DECISIONING_METHOD`` picks
server-side, the default, on-device or hybrid)::

    flask --app examples/flask_app.py run --port 5000
    curl -c jar -b jar http://127.0.0.1:5000/
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request

import targetkit

MBOX = "homepage-hero"


def _set_cookie(response: Response, cookie: dict[str, Any] | None) -> None:
    """Target's cookies are ``{"name", "value", "maxAge"}`` dicts (maxAge in seconds)."""
    if cookie:
        response.set_cookie(cookie["name"], cookie["value"], max_age=cookie["maxAge"])


def create_app(client: targetkit.TargetClient | None = None) -> Flask:
    app = Flask(__name__)
    target = client or targetkit.create()  # every option from TARGETKIT_* variables

    @app.get("/")
    def home() -> Response:
        result = target.get_offers(
            {
                "request": {
                    "context": {
                        "channel": "web",
                        "address": {"url": request.url},
                        "userAgent": request.headers.get("User-Agent", ""),
                    },
                    "execute": {"mboxes": [{"name": MBOX, "index": 0}]},
                },
                "target_cookie": request.cookies.get("mbox"),
                "target_location_hint": request.cookies.get("mboxEdgeCluster"),
            }
        )
        (hero,) = result["response"]["execute"]["mboxes"]
        option = (hero.get("options") or [{}])[0]
        response = jsonify(
            {
                "visitor": result["response"]["id"].get("tntId"),
                "experience": (option.get("responseTokens") or {}).get("experience.name"),
                "hero": option.get("content"),
                "decided": result["meta"]["decisioning_method"],
            }
        )
        _set_cookie(response, result.get("target_cookie"))
        _set_cookie(response, result.get("target_location_hint_cookie"))
        return response

    app.extensions["targetkit"] = target
    return app


if __name__ == "__main__":
    create_app().run(port=5000)
