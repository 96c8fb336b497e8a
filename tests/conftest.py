"""Shared fixtures: real local HTTP servers, started and stopped around each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import CdnServer, DeliveryServer, free_port


@pytest.fixture
def unused_port() -> int:
    """A free port, for tests that need to know it before starting something on it."""
    return free_port()


@pytest.fixture
def cdn_server() -> Iterator[CdnServer]:
    with CdnServer() as server:
        yield server
        assert not server.errors, "CDN test server raised:\n" + "\n".join(server.errors)


@pytest.fixture
def delivery_server() -> Iterator[DeliveryServer]:
    with DeliveryServer() as server:
        yield server
        assert not server.errors, "Delivery test server raised:\n" + "\n".join(server.errors)


@pytest.fixture
def validating_delivery_server() -> Iterator[DeliveryServer]:
    """A DeliveryServer that checks every request against the OpenAPI spec (400 on violation)."""
    with DeliveryServer(validate=True) as server:
        yield server
        assert not server.errors, "Delivery test server raised:\n" + "\n".join(server.errors)
