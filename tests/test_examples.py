"""Each example in ``examples/`` runs against ``targetkit serve`` (a real subprocess).

The events example runs as a script; the Flask and FastAPI apps run in-process through
their test clients, with options from ``TARGETKIT_*`` variables pointing at the emulator.
The mbox cookie round trip is checked: a visitor keeps their tntId and experience.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from targetkit.serve.config import DEMO_ORGANIZATION_ID
from tests.test_serve import ServeProcess, serve_process

EXAMPLES = Path(__file__).parent.parent / "examples"
METHODS = ("on-device", "server-side", "hybrid")
#: What ``meta.decisioning_method`` says: hybrid decides the demo mboxes on-device.
DECIDED = {"on-device": "on-device", "server-side": "server-side", "hybrid": "on-device"}


def emulator_env(url: str) -> dict[str, str]:
    """The variables ``targetkit serve`` tells users to export."""
    return {
        "TARGETKIT_CLIENT": "demo",
        "TARGETKIT_ORGANIZATION_ID": DEMO_ORGANIZATION_ID,
        "TARGETKIT_CDN_BASE_PATH": url,
        "TARGETKIT_SERVER_DOMAIN": url.split("://", 1)[1],
        "TARGETKIT_SECURE": "false",
        "TARGETKIT_TELEMETRY_ENABLED": "false",
    }


@pytest.fixture(scope="module")
def server() -> Iterator[ServeProcess]:
    with serve_process() as running:
        yield running


@pytest.fixture
def env(server: ServeProcess, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in [n for n in os.environ if n.startswith("TARGETKIT_")]:
        monkeypatch.delenv(name)
    values = emulator_env(server.url)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"examples_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(name: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TARGETKIT_")}
    return subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **env},
    )


# -- events example -----------------------------------------------------------------------


def test_events_example_prints_events_and_the_offer(env: dict[str, str]) -> None:
    result = run_script("events_example", env)
    assert result.returncode == 0, result.stderr
    assert "client_ready: decisions are now made on-device" in result.stdout
    assert "artifact_download_succeeded: " + env["TARGETKIT_CDN_BASE_PATH"] in result.stdout
    assert "offer for homepage-hero: {" in result.stdout
    assert "Traceback" not in result.stderr


def test_events_example_shows_a_failed_download() -> None:
    with serve_process("--on-device-disabled") as disabled:
        result = run_script("events_example", emulator_env(disabled.url))
    assert result.returncode == 1
    assert "artifact_download_failed: " in result.stdout
    assert "403" in result.stdout
    assert "client_ready" not in result.stdout


def test_events_example_without_configuration_says_what_to_do() -> None:
    result = run_script("events_example", {})
    assert result.returncode == 2
    assert "targetkit serve" in result.stderr
    assert "Traceback" not in result.stderr


# -- Flask, sync client -------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_flask_app_carries_the_mbox_cookie(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    monkeypatch.setenv("TARGETKIT_DECISIONING_METHOD", method)
    app = load("flask_app").create_app()
    target = app.extensions["targetkit"]
    try:
        assert target.wait_until_ready(5)
        browser = app.test_client()
        first = browser.get("/")
        assert first.status_code == 200
        cookie = browser.get_cookie("mbox")
        assert cookie is not None
        visitor = first.get_json()["visitor"]
        assert visitor.split(".")[0] in cookie.value  # PC#<tntId> rides in the cookie
        for _ in range(3):
            again = browser.get("/").get_json()
            assert again["visitor"] == visitor
            assert again["experience"] == first.get_json()["experience"]
        assert first.get_json()["decided"] == DECIDED[method]
        stranger = app.test_client().get("/").get_json()
        assert stranger["visitor"] != visitor
    finally:
        target.close()


# -- FastAPI, async client ----------------------------------------------------------------


async def _fastapi_visits(app: Any) -> tuple[list[dict[str, Any]], str, dict[str, Any]]:
    """Four visits from one browser (cookies kept) and one from a new browser.

    The app's lifespan runs around them, as a server would run it.
    """
    import httpx

    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as browser:
            visits = []
            for _ in range(4):
                answer = await browser.get("/")
                assert answer.status_code == 200
                visits.append(answer.json())
            cookie = browser.cookies.get("mbox") or ""
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as other:
            stranger = (await other.get("/")).json()
    return visits, cookie, stranger


@pytest.mark.parametrize("method", METHODS)
def test_fastapi_app_carries_the_mbox_cookie(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    monkeypatch.setenv("TARGETKIT_DECISIONING_METHOD", method)
    app = load("fastapi_app").app
    visits, cookie, stranger = asyncio.run(_fastapi_visits(app))
    visitor = visits[0]["visitor"]
    assert visitor.split(".")[0] in cookie  # PC#<tntId> rides in the cookie
    assert {v["visitor"] for v in visits} == {visitor}
    assert len({v["experience"] for v in visits}) == 1
    assert visits[0]["decided"] == DECIDED[method]
    assert stranger["visitor"] != visitor
