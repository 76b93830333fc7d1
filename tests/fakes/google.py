"""Google's side for tests: a signing key, ID tokens, and its key set served on loopback.

Fixtures: `fake_google` (session) and `google_app` (an app configured to trust it).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from jwt.algorithms import RSAAlgorithm

from orbiter.core.settings import Settings
from orbiter.main import create_app
from tests.helpers import unique_email

CLIENT_ID = "test-client"
ISSUER = "https://accounts.google.com"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class FakeGoogle:
    """Google's side: a signing key, its kid, and the URL where its key set is served."""

    url: str
    kid: str
    private_key: rsa.RSAPrivateKey

    def id_token(
        self,
        *,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        **overrides: Any,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "sub": str(uuid.uuid4().int)[:21],
            "email": unique_email("google"),
            "email_verified": True,
            "name": "Grace Hopper",
            "picture": "https://lh3.googleusercontent.com/a/grace.png",
            "iat": now,
            "exp": now + 3600,
        }
        claims.update(overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(
            claims, key or self.private_key, algorithm="RS256", headers={"kid": kid or self.kid}
        )


@pytest.fixture(scope="session")
def fake_google() -> Iterator[FakeGoogle]:
    private_key = rsa_key()
    kid = "test-kid-1"
    jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    body = json.dumps({"keys": [jwk]}).encode()

    class KeySet(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "public, max-age=3600")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), KeySet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeGoogle(
            url=f"http://127.0.0.1:{server.server_port}/oauth2/v3/certs",
            kid=kid,
            private_key=private_key,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
async def google_app(migrated: Settings, fake_google: FakeGoogle) -> AsyncIterator[FastAPI]:
    settings = migrated.model_copy(
        update={"google_client_id": CLIENT_ID, "google_jwks_url": fake_google.url}
    )
    application = create_app(settings)
    async with LifespanManager(application):
        yield application
