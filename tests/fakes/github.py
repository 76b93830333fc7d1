"""GitHub's REST API as far as Orbiter uses it, served on loopback for tests.

Fixture `fake_github` (session): the server's base URL (also under `/api/v3`, as GitHub
Enterprise Server serves it), the tokens it knows, and the requests it saw.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

ALICE_TOKEN = "ghp_alice0000000000000000000000000000"
BOB_TOKEN = "ghp_bob000000000000000000000000000000"
SERVER_TOKEN = "ghp_server00000000000000000000000000"


def _repo(owner: str, name: str, n: int, *, private: bool = False) -> dict[str, Any]:
    return {
        "id": n,
        "name": name,
        "full_name": f"{owner}/{name}",
        "owner": {"login": owner},
        "private": private,
        "description": f"{name} description",
        "default_branch": "main",
        "html_url": f"https://github.com/{owner}/{name}",
        "clone_url": f"https://github.com/{owner}/{name}.git",
        "language": "Python",
        "fork": False,
        "archived": False,
        "updated_at": f"2026-11-{n:02d}T10:00:00Z",
        "pushed_at": f"2026-11-{n:02d}T10:00:00Z",
    }


USERS: dict[str, dict[str, Any]] = {
    ALICE_TOKEN: {"login": "alice", "name": "Alice Liddell", "avatar_url": "https://a/alice.png"},
    BOB_TOKEN: {"login": "bob", "name": None, "avatar_url": "https://a/bob.png"},
    SERVER_TOKEN: {"login": "orbiter-bot", "name": "Orbiter", "avatar_url": "https://a/bot.png"},
}
REPOS = {
    "alice": [_repo("alice", f"project-{i}", i, private=i % 2 == 0) for i in range(1, 26)],
    "bob": [_repo("bob", "dotfiles", 3)],
    "orbiter-bot": [],
    "wonderland": [_repo("wonderland", "rabbit-hole", 7), _repo("wonderland", "tea", 9)],
}
ORGS = {
    "alice": [
        {"login": "wonderland", "id": 90, "avatar_url": "https://a/w.png", "description": "Tea"}
    ],
    "bob": [],
    "orbiter-bot": [],
}


@dataclass
class FakeGitHub:
    url: str
    seen: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Authorization)
    down: bool = False  # answer 503 to everything

    @property
    def enterprise_url(self) -> str:
        return f"{self.url}/api/v3"


def _page(items: list[Any], query: dict[str, list[str]]) -> list[Any]:
    per_page = int(query.get("per_page", ["30"])[0])
    page = int(query.get("page", ["1"])[0])
    return items[(page - 1) * per_page : page * per_page]


def _route(path: str, query: dict[str, list[str]], login: str) -> tuple[int, Any]:
    if path == "/user":
        return 200, {"id": 1, "type": "User", **USERS_BY_LOGIN[login]}
    if path == "/user/repos":
        return 200, _page(REPOS[login], query)
    if path == "/user/orgs":
        return 200, _page(ORGS[login], query)
    if match := re.fullmatch(r"/users/([^/]+)", path):
        owner = match.group(1)
        if owner in USERS_BY_LOGIN:
            return 200, {"login": owner, "type": "User"}
        if owner in REPOS:
            return 200, {"login": owner, "type": "Organization"}
        return 404, {"message": "Not Found"}
    if match := re.fullmatch(r"/(users|orgs)/([^/]+)/repos", path):
        owner = match.group(2)
        if owner not in REPOS:
            return 404, {"message": "Not Found"}
        public = [r for r in REPOS[owner] if not r["private"]]
        return 200, _page(public, query)
    return 404, {"message": "Not Found"}


USERS_BY_LOGIN: dict[str, dict[str, Any]] = {user["login"]: user for user in USERS.values()}


@pytest.fixture(scope="session")
def fake_github() -> Iterator[FakeGitHub]:
    state: dict[str, FakeGitHub] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fake = state["fake"]
            parts = urlsplit(self.path)
            path = parts.path.removeprefix("/api/v3")
            auth = self.headers.get("Authorization")
            fake.seen.append((path, auth))
            token = (auth or "").removeprefix("token ").removeprefix("Bearer ")
            if fake.down:
                status, body = 503, {"message": "Service Unavailable"}
            elif token not in USERS:
                status, body = 401, {"message": "Bad credentials"}
            else:
                status, body = _route(path, parse_qs(parts.query), USERS[token]["login"])
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["fake"] = FakeGitHub(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["fake"]
    finally:
        server.shutdown()
        server.server_close()
