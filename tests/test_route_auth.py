"""Every route needs a principal unless it is on the explicit public allowlist below."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from orbiter.auth.dependencies import OWN_CREDENTIAL_ROUTES, PUBLIC_ROUTES
from orbiter.runtime.resources import Resources
from tests.helpers import API, assert_error, fill_path

PUBLIC_API_ROUTES = {
    ("POST", f"{API}/auth/register"),
    ("POST", f"{API}/auth/login"),
    ("GET", f"{API}/auth/csrf"),
    ("POST", f"{API}/auth/google"),
    ("POST", f"{API}/oauth/device"),
    ("POST", f"{API}/oauth/token"),
    ("POST", f"{API}/oauth/device/authorize"),
    ("POST", f"{API}/oauth/device/deny"),
    ("POST", f"{API}/hooks/workflows/{{token}}"),
}
# Outside /api/v1 the app serves only these, none of which acts for a user.
PUBLIC_PAGES = {"/health", "/openapi.json", "/docs", "/redoc", "/device"}


def test_the_allowlist_in_code_is_the_reviewed_one() -> None:
    assert {(method, API + path) for method, path in PUBLIC_ROUTES} == PUBLIC_API_ROUTES


def test_the_routes_checking_their_own_credentials_are_the_reviewed_ones() -> None:
    """Each still answers 401 without credentials (checked below with every route)."""
    assert {
        ("POST", "/deployments/{deployment_id}/invoke"),
        ("GET", "/deployments/{deployment_id}/runs/{run_id}"),
        ("POST", "/infrastructure/deployments/{deployment_id}/status"),
    } == OWN_CREDENTIAL_ROUTES


async def test_every_api_route_answers_401_without_credentials_unless_public(
    app: FastAPI, client: AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.limiter, "enabled", False)  # one anonymous IP, many routes
    operations = [
        (method.upper(), path)
        for path, ops in app.openapi()["paths"].items()
        for method in ops
        if path.startswith(f"{API}/")
    ]
    assert len(operations) > 80
    for method, path in operations:
        body: dict[str, Any] | None = {} if method in {"POST", "PUT", "PATCH"} else None
        response = await client.request(method, fill_path(path), json=body)
        if (method, path) in PUBLIC_API_ROUTES:
            assert response.status_code != 401, (method, path, response.text)
        else:
            assert response.status_code == 401, (method, path, response.status_code)
            if method != "HEAD":  # HEAD answers carry no body
                assert_error(response, 401, "UNAUTHORIZED")


async def test_only_known_pages_live_outside_the_api_prefix(app: FastAPI) -> None:
    outside = {path for path in app.openapi()["paths"] if not path.startswith(f"{API}/")}
    assert outside <= PUBLIC_PAGES
