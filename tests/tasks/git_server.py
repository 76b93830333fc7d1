"""A git server over smart HTTP on loopback: `git http-backend` (CGI) behind a tiny threaded
HTTP server. Clones need no credentials; pushes (receive-pack) need the basic auth a task
sends (`x-access-token:<token>`), so a branch in the remote proves the push authenticated."""

from __future__ import annotations

import base64
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

GIT_ENV = {
    "PATH": "/usr/bin:/bin",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "HOME": "/nonexistent",
}


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=True
    )
    return done.stdout


@dataclass
class GitServer:
    root: Path
    token: str
    port: int = 0
    pushes: list[bool] = field(default_factory=list)  # whether each push attempt was authorized

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def make_repo(self, name: str, files: dict[str, str]) -> Path:
        """A bare repository `name` whose main branch has one commit with `files`."""
        bare = self.root / name
        git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
        work = self.root / f"{name}.work"
        git("init", "--quiet", "--initial-branch=main", str(work))
        for path, text in files.items():
            (work / path).parent.mkdir(parents=True, exist_ok=True)
            (work / path).write_text(text)
        git("add", "-A", cwd=work)
        git(
            "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "init", cwd=work
        )
        git("push", "--quiet", str(bare), "main", cwd=work)
        return bare

    def branch_file(self, name: str, branch: str, path: str) -> str:
        return git("show", f"refs/heads/{branch}:{path}", cwd=self.root / name)

    def head(self, name: str, branch: str) -> str:
        return git("rev-parse", f"refs/heads/{branch}", cwd=self.root / name).strip()

    def branches(self, name: str) -> list[str]:
        out = git("for-each-ref", "--format=%(refname:short)", "refs/heads", cwd=self.root / name)
        return out.split()


def _handler(server: GitServer) -> type[BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(f"x-access-token:{server.token}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def do_GET(self) -> None:
            self._cgi()

        def do_POST(self) -> None:
            self._cgi()

        def _cgi(self) -> None:
            parts = urlsplit(self.path)
            pushing = "git-receive-pack" in parts.path or "service=git-receive-pack" in parts.query
            authorized = self.headers.get("Authorization") == expected
            if pushing:
                server.pushes.append(authorized)
                if not authorized:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            env = {
                **GIT_ENV,
                "GIT_PROJECT_ROOT": str(server.root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": parts.path,
                "QUERY_STRING": parts.query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "REMOTE_ADDR": "127.0.0.1",
            }
            if authorized:
                env["REMOTE_USER"] = "x-access-token"  # enables receive-pack
            done = subprocess.run(
                ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
            )
            head, _, payload = done.stdout.partition(b"\r\n\r\n")
            status, headers = 200, []
            for line in head.decode().split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def serve(root: Path, token: str) -> Iterator[GitServer]:
    server = GitServer(root, token)
    http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    server.port = http.server_address[1]
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        http.shutdown()
        http.server_close()
