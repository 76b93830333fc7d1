"""The CLI's device sign-in (RFC 8628): start, poll, approve or deny, and the /device page."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response
from sqlalchemy import select

from orbiter.core.security import hash_secret
from orbiter.core.time import utcnow
from orbiter.models import AccessToken, DeviceAuthorization
from orbiter.runtime.resources import Resources
from tests.helpers import assert_error, browser_for, new_client, sign_in_everywhere

DEVICE = "/api/v1/oauth/device"
TOKEN = "/api/v1/oauth/token"
AUTHORIZE = "/api/v1/oauth/device/authorize"
DENY = "/api/v1/oauth/device/deny"
GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE = re.compile(rf"^[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}$")
THIRTY_DAYS = 30 * 24 * 3600


async def _start(client: AsyncClient) -> dict[str, Any]:
    response = await client.post(DEVICE, data={"client_id": "orbiter-cli"})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _poll(client: AsyncClient, device_code: str) -> Response:
    return await client.post(TOKEN, data={"grant_type": GRANT, "device_code": device_code})


async def _grant(resources: Resources, device_code: str) -> DeviceAuthorization:
    async with resources.sessionmaker() as db:
        grant = await db.scalar(
            select(DeviceAuthorization).where(
                DeviceAuthorization.device_code_hash == hash_secret(device_code)
            )
        )
    assert grant is not None
    return grant


async def _edit(resources: Resources, device_code: str, **values: Any) -> None:
    """Move time for one device authorization by editing its row."""
    async with resources.sessionmaker() as db:
        grant = await db.scalar(
            select(DeviceAuthorization).where(
                DeviceAuthorization.device_code_hash == hash_secret(device_code)
            )
        )
        assert grant is not None
        for name, value in values.items():
            setattr(grant, name, value)
        await db.commit()


async def _poll_after_waiting(
    client: AsyncClient, resources: Resources, device_code: str
) -> Response:
    """Poll as a well-behaved client would: after the current interval has passed."""
    grant = await _grant(resources, device_code)
    if grant.last_polled_at is not None:
        waited = utcnow() - timedelta(seconds=grant.interval + 1)
        await _edit(resources, device_code, last_polled_at=waited)
    return await _poll(client, device_code)


def _assert_oauth_error(response: Response, error: str) -> None:
    """RFC 6749 §5.2 shape (not the envelope), never cached."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == error, body
    assert isinstance(body["error_description"], str) and body["error_description"]
    assert response.headers["cache-control"] == "no-store"


def _wrong_code(right: str) -> str:
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(8))
        if code != right.replace("-", ""):
            return f"{code[:4]}-{code[4:]}"


# --- starting ------------------------------------------------------------------------------


async def test_device_request_returns_codes_uris_lifetime_and_interval(
    client: AsyncClient, resources: Resources
) -> None:
    response = await client.post(DEVICE, data={"client_id": "orbiter-cli"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", body["device_code"])  # ≥ 256 bits, URL-safe
    assert USER_CODE.match(body["user_code"]), body["user_code"]
    assert body["verification_uri"].endswith("/device")
    assert body["verification_uri_complete"].startswith(body["verification_uri"])
    assert body["user_code"] in body["verification_uri_complete"]
    assert body["expires_in"] == 900
    assert body["interval"] == 5
    grant = await _grant(resources, body["device_code"])
    assert grant.status == "pending" and grant.client_id == "orbiter-cli"
    assert body["device_code"] not in (grant.device_code_hash, grant.user_code)


async def test_device_request_accepts_json_and_an_empty_body(client: AsyncClient) -> None:
    as_json = await client.post(DEVICE, json={"client_id": "orbiter-cli", "scope": "read"})
    assert as_json.status_code == 200, as_json.text
    assert USER_CODE.match(as_json.json()["user_code"])
    empty = await client.post(DEVICE)
    assert empty.status_code == 200, empty.text
    assert empty.json()["device_code"] != as_json.json()["device_code"]


async def test_user_codes_use_only_the_twenty_consonants(client: AsyncClient) -> None:
    codes = [(await _start(client))["user_code"] for _ in range(8)]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert USER_CODE.match(code), code
        assert not set(code.replace("-", "")) - set(ALPHABET)


# --- polling -------------------------------------------------------------------------------


async def test_polling_before_approval_is_authorization_pending(client: AsyncClient) -> None:
    codes = await _start(client)
    _assert_oauth_error(await _poll(client, codes["device_code"]), "authorization_pending")


async def test_token_endpoint_accepts_json_too(client: AsyncClient) -> None:
    codes = await _start(client)
    response = await client.post(
        TOKEN, json={"grant_type": GRANT, "device_code": codes["device_code"]}
    )
    _assert_oauth_error(response, "authorization_pending")


async def test_polling_too_fast_is_slow_down_and_the_interval_grows_for_good(
    client: AsyncClient, resources: Resources
) -> None:
    code = (await _start(client))["device_code"]
    _assert_oauth_error(await _poll(client, code), "authorization_pending")
    _assert_oauth_error(await _poll(client, code), "slow_down")
    assert (await _grant(resources, code)).interval == 10

    # Waited the old interval (5 s) but not the new one (10 s): still too fast.
    await _edit(resources, code, last_polled_at=utcnow() - timedelta(seconds=6))
    _assert_oauth_error(await _poll(client, code), "slow_down")
    assert (await _grant(resources, code)).interval == 15

    # Waiting the grown interval is fine, and the interval does not shrink back.
    await _edit(resources, code, last_polled_at=utcnow() - timedelta(seconds=16))
    _assert_oauth_error(await _poll(client, code), "authorization_pending")
    assert (await _grant(resources, code)).interval == 15


async def test_approved_device_gets_a_30_day_bearer_token_once(
    app: FastAPI, client: AsyncClient, resources: Resources
) -> None:
    browser, user = await browser_for(app)
    codes = await _start(client)
    _assert_oauth_error(await _poll(client, codes["device_code"]), "authorization_pending")

    approved = await browser.post(AUTHORIZE, json={"user_code": codes["user_code"]})
    assert approved.status_code == 200, approved.text
    assert approved.json()["success"] is True
    assert isinstance(approved.json()["message"], str) and approved.json()["message"]

    token = await _poll_after_waiting(client, resources, codes["device_code"])
    assert token.status_code == 200, token.text
    assert token.headers["cache-control"] == "no-store"
    body = token.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "user"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == THIRTY_DAYS
    assert body["user"]["id"] == user["id"] and body["user"]["email"] == user["email"]

    async with new_client(app, Authorization=f"Bearer {body['access_token']}") as cli:
        me = await cli.get("/api/v1/auth/me")
        assert me.status_code == 200 and me.json()["id"] == user["id"]

    async with resources.sessionmaker() as db:  # stored as a hash only
        stored = (await db.scalars(select(AccessToken.token_hash))).all()
    assert stored == [hash_secret(body["access_token"])]

    again = await _poll_after_waiting(client, resources, codes["device_code"])
    _assert_oauth_error(again, "invalid_grant")
    async with resources.sessionmaker() as db:
        assert len((await db.scalars(select(AccessToken))).all()) == 1
    await browser.aclose()


@pytest.mark.parametrize("path", [AUTHORIZE, "/api/v1/oauth/device/deny"])
@pytest.mark.parametrize("credential", ["api_key", "bearer"])
async def test_only_a_browser_session_approves_or_denies_a_device(
    app: FastAPI, client: AsyncClient, resources: Resources, path: str, credential: str
) -> None:
    """A CI key or a CLI token must not mint itself another 30-day bearer token."""
    user = await sign_in_everywhere(app)
    codes = await _start(client)
    caller = user.clients()[credential]
    error = assert_error(
        await caller.post(path, json={"user_code": codes["user_code"]}), 403, "FORBIDDEN"
    )
    assert "browser" in error["message"]
    pending = await _poll_after_waiting(client, resources, codes["device_code"])
    assert pending.json()["error"] == "authorization_pending"
    await user.aclose()
    await user.aclose()


async def test_user_code_is_accepted_lowercase_and_without_the_dash(
    app: FastAPI, client: AsyncClient, resources: Resources
) -> None:
    browser, user = await browser_for(app)
    codes = await _start(client)
    typed = codes["user_code"].replace("-", "").lower()
    approved = await browser.post(AUTHORIZE, json={"user_code": f"  {typed} "})
    assert approved.status_code == 200, approved.text
    token = await _poll_after_waiting(client, resources, codes["device_code"])
    assert token.status_code == 200, token.text
    assert token.json()["user"]["id"] == user["id"]
    await browser.aclose()


async def test_denied_device_gets_access_denied_and_no_token(
    app: FastAPI, client: AsyncClient, resources: Resources
) -> None:
    browser, _ = await browser_for(app)
    codes = await _start(client)
    denied = await browser.post(DENY, json={"user_code": codes["user_code"]})
    assert denied.status_code == 200, denied.text
    assert denied.json()["success"] is True
    _assert_oauth_error(
        await _poll_after_waiting(client, resources, codes["device_code"]), "access_denied"
    )
    # A denied request cannot be approved afterwards.
    late = await browser.post(AUTHORIZE, json={"user_code": codes["user_code"]})
    assert_error(late, 404, "RESOURCE_NOT_FOUND")
    _assert_oauth_error(
        await _poll_after_waiting(client, resources, codes["device_code"]), "access_denied"
    )
    async with resources.sessionmaker() as db:
        assert (await db.scalars(select(AccessToken))).all() == []
    await browser.aclose()


async def test_expired_device_code_is_expired_token_and_cannot_be_approved(
    app: FastAPI, client: AsyncClient, resources: Resources
) -> None:
    browser, _ = await browser_for(app)
    codes = await _start(client)
    await _edit(resources, codes["device_code"], expires_at=utcnow() - timedelta(seconds=1))
    refused = await browser.post(AUTHORIZE, json={"user_code": codes["user_code"]})
    assert_error(refused, 404, "RESOURCE_NOT_FOUND")
    _assert_oauth_error(await _poll(client, codes["device_code"]), "expired_token")
    await browser.aclose()


async def test_an_approved_code_that_expires_before_the_poll_gets_no_token(
    app: FastAPI, client: AsyncClient, resources: Resources
) -> None:
    browser, _ = await browser_for(app)
    codes = await _start(client)
    assert (
        await browser.post(AUTHORIZE, json={"user_code": codes["user_code"]})
    ).status_code == 200
    await _edit(resources, codes["device_code"], expires_at=utcnow() - timedelta(seconds=1))
    _assert_oauth_error(await _poll(client, codes["device_code"]), "expired_token")
    await browser.aclose()


async def test_unknown_device_code_is_invalid_grant(client: AsyncClient) -> None:
    _assert_oauth_error(await _poll(client, secrets.token_urlsafe(32)), "invalid_grant")


async def test_wrong_grant_type_is_unsupported_grant_type(client: AsyncClient) -> None:
    codes = await _start(client)
    for grant_type in ("authorization_code", ""):
        response = await client.post(
            TOKEN, data={"grant_type": grant_type, "device_code": codes["device_code"]}
        )
        _assert_oauth_error(response, "unsupported_grant_type")


async def test_missing_device_code_is_invalid_request(client: AsyncClient) -> None:
    _assert_oauth_error(await client.post(TOKEN, data={"grant_type": GRANT}), "invalid_request")
    _assert_oauth_error(
        await client.post(TOKEN, data={"grant_type": GRANT, "device_code": ""}), "invalid_request"
    )


async def test_malformed_token_requests_get_rfc_errors_too(client: AsyncClient) -> None:
    bad_json = await client.post(
        TOKEN, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    _assert_oauth_error(bad_json, "invalid_request")
    not_an_object = await client.post(TOKEN, json=[GRANT])
    _assert_oauth_error(not_an_object, "invalid_request")
    plain = await client.post(
        TOKEN,
        content=f"grant_type={GRANT}".encode(),
        headers={"Content-Type": "text/plain"},
    )
    _assert_oauth_error(plain, "invalid_request")


async def test_device_requests_are_rate_limited_per_client_ip(
    client: AsyncClient, resources: Resources
) -> None:
    if not resources.limiter.enabled:
        pytest.skip("rate limits are disabled in this environment")
    limit = resources.settings.rate_limit_auth_per_ip
    for _ in range(limit):
        assert (await client.post(DEVICE)).status_code == 200
    limited = await client.post(DEVICE)
    assert_error(limited, 429, "RATE_LIMITED")
    assert int(limited.headers["retry-after"]) >= 1
    async with resources.sessionmaker() as db:
        assert len((await db.scalars(select(DeviceAuthorization))).all()) == limit


# --- approving -----------------------------------------------------------------------------


async def test_approving_needs_a_signed_in_user(client: AsyncClient, resources: Resources) -> None:
    codes = await _start(client)
    assert_error(
        await client.post(AUTHORIZE, json={"user_code": codes["user_code"]}), 401, "UNAUTHORIZED"
    )
    assert_error(
        await client.post(DENY, json={"user_code": codes["user_code"]}), 401, "UNAUTHORIZED"
    )
    assert (await _grant(resources, codes["device_code"])).status == "pending"


async def test_approving_by_cookie_needs_the_csrf_token(
    app: FastAPI, client: AsyncClient, resources: Resources
) -> None:
    browser, _ = await browser_for(app)
    del browser.headers["X-CSRF-Token"]
    codes = await _start(client)
    assert_error(
        await browser.post(AUTHORIZE, json={"user_code": codes["user_code"]}), 403, "FORBIDDEN"
    )
    wrong = await browser.post(
        AUTHORIZE, json={"user_code": codes["user_code"]}, headers={"X-CSRF-Token": "forged"}
    )
    assert_error(wrong, 403, "FORBIDDEN")
    _assert_oauth_error(await _poll(client, codes["device_code"]), "authorization_pending")
    assert (await _grant(resources, codes["device_code"])).user_id is None
    await browser.aclose()


async def test_a_wrong_user_code_is_not_found(app: FastAPI, client: AsyncClient) -> None:
    browser, _ = await browser_for(app)
    codes = await _start(client)
    wrong = await browser.post(AUTHORIZE, json={"user_code": _wrong_code(codes["user_code"])})
    assert_error(wrong, 404, "RESOURCE_NOT_FOUND")
    _assert_oauth_error(await _poll(client, codes["device_code"]), "authorization_pending")
    await browser.aclose()


async def test_guessing_user_codes_is_rate_limited(
    app: FastAPI, client: AsyncClient, resources: Resources
) -> None:
    if not resources.limiter.enabled:
        pytest.skip("rate limits are disabled in this environment")
    browser, _ = await browser_for(app)
    codes = await _start(client)
    for _ in range(10):
        wrong = await browser.post(AUTHORIZE, json={"user_code": _wrong_code(codes["user_code"])})
        assert_error(wrong, 404, "RESOURCE_NOT_FOUND")
    limited = await browser.post(AUTHORIZE, json={"user_code": _wrong_code(codes["user_code"])})
    assert_error(limited, 429, "RATE_LIMITED")
    assert int(limited.headers["retry-after"]) >= 1
    # While limited, even the right code is refused, and the device stays pending.
    right = await browser.post(AUTHORIZE, json={"user_code": codes["user_code"]})
    assert_error(right, 429, "RATE_LIMITED")
    assert "retry-after" in right.headers
    assert (await _grant(resources, codes["device_code"])).status == "pending"
    await browser.aclose()


# --- the token as a session ----------------------------------------------------------------


async def test_the_token_is_listed_in_sessions_and_can_be_revoked(app: FastAPI) -> None:
    user = await sign_in_everywhere(app)
    listed = await user.cli.get("/api/v1/auth/sessions")
    assert listed.status_code == 200, listed.text
    tokens = [s for s in listed.json()["data"] if s["kind"] == "token"]
    assert len(tokens) == 1
    assert tokens[0]["current"] is True and tokens[0]["expires_at"]
    from_browser = (await user.browser.get("/api/v1/auth/sessions")).json()["data"]
    assert [s["current"] for s in from_browser if s["kind"] == "token"] == [False]

    stranger, _ = await browser_for(app)
    foreign = await stranger.delete(f"/api/v1/auth/sessions/{tokens[0]['id']}")
    assert_error(foreign, 404, "RESOURCE_NOT_FOUND")
    assert (await user.cli.get("/api/v1/auth/me")).status_code == 200
    await stranger.aclose()

    revoked = await user.browser.delete(f"/api/v1/auth/sessions/{tokens[0]['id']}")
    assert revoked.status_code == 204, revoked.text
    assert_error(await user.cli.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")
    after = (await user.browser.get("/api/v1/auth/sessions")).json()["data"]
    assert [s for s in after if s["kind"] == "token"] == []
    assert (await user.browser.get("/api/v1/auth/me")).status_code == 200
    await user.aclose()


async def test_logout_with_the_bearer_token_revokes_it(app: FastAPI, resources: Resources) -> None:
    user = await sign_in_everywhere(app)
    assert (await user.cli.get("/api/v1/auth/me")).status_code == 200
    logout = await user.cli.post("/api/v1/auth/logout")
    assert logout.status_code == 204, logout.text
    assert_error(await user.cli.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")
    async with resources.sessionmaker() as db:
        assert (await db.scalars(select(AccessToken))).all() == []
    # The browser session and the API key are untouched.
    assert (await user.browser.get("/api/v1/auth/me")).status_code == 200
    assert (await user.api.get("/api/v1/auth/me")).status_code == 200
    await user.aclose()


async def test_the_token_expires_after_30_days(app: FastAPI, resources: Resources) -> None:
    user = await sign_in_everywhere(app)
    async with resources.sessionmaker() as db:
        token = await db.scalar(
            select(AccessToken).where(AccessToken.token_hash == hash_secret(user.token))
        )
        assert token is not None
        lifetime = token.expires_at - utcnow()
        assert timedelta(days=30) - timedelta(minutes=5) < lifetime <= timedelta(days=30)
        token.expires_at = utcnow() - timedelta(seconds=1)
        await db.commit()
    assert_error(await user.cli.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")
    listed = (await user.browser.get("/api/v1/auth/sessions")).json()["data"]
    assert [s["kind"] for s in listed] == ["browser"]
    await user.aclose()


# --- the /device page ----------------------------------------------------------------------


async def test_device_page_prefills_the_code_under_a_nonce_csp(client: AsyncClient) -> None:
    response = await client.get("/device", params={"user_code": "BCDF-GHJK"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers.get_list("content-security-policy") == [
        response.headers["content-security-policy"]
    ]
    csp = response.headers["content-security-policy"]
    nonce = re.search(r"script-src 'nonce-([A-Za-z0-9_-]+)'", csp)
    assert nonce, csp
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert f'<script nonce="{nonce.group(1)}">' in response.text
    assert 'value="BCDF-GHJK"' in response.text
    again = await client.get("/device")
    assert again.status_code == 200
    assert again.headers["content-security-policy"] != csp  # a fresh nonce every time
    assert 'id="code" value=""' in again.text


@pytest.mark.parametrize("hostile", ["<script>", '"><script>alert(1)</script>'])
async def test_device_page_escapes_the_prefilled_code(client: AsyncClient, hostile: str) -> None:
    response = await client.get("/device", params={"user_code": hostile})
    assert response.status_code == 200
    assert response.text.count("<script") == 1  # only the page's own script
    assert "&lt;script&gt;" in response.text
    assert 'value="&lt;script&gt;"' in response.text or "&quot;&gt;&lt;script&gt;" in response.text
