"""git on the host, locked down: which URLs a task may clone, and running git safely.

* URLs: `https://` only (`http://` too, to a loopback host, when the operator allows private
  URLs, for local test servers); no credentials in the URL; the host must resolve to public
  addresses only (core.outbound), unless ORBITER_ALLOW_PRIVATE_URLS=true. `file://`,
  `ssh://`, `git://` and scp-like `host:path` are refused.
* Every git command: `GIT_ALLOW_PROTOCOL` (https, or what the command needs), no system or
  global config, no terminal or askpass prompts, no credential helpers, no hooks, redirects
  not followed, the host pinned to the addresses that were checked (`http.curloptResolve`,
  so DNS cannot be rebound between the check and the connection), and a timeout; the whole
  process group is killed on timeout or cancel.
* A token goes in an `Authorization` header through `GIT_CONFIG_*` variables (never in the
  URL, the command line, or a message: `GitFailed` messages are scrubbed).
* git never runs on the host in a repository the sandbox could have written to: the task
  clones into a private bare repository, lays the files out for the sandbox from it, and
  brings the agent's commit back as a bundle (a data file) before pushing from the private
  repository.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from orbiter.core.errors import UpstreamError, ValidationFailed
from orbiter.core.outbound import OutboundRefused, check_address
from orbiter.core.settings import Settings

MAX_MESSAGE_CHARS = 2000


class GitFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Remote:
    url: str
    host: str
    port: int
    pins: tuple[str, ...]  # host:port:addresses for http.curloptResolve


def _parts(url: str, settings: Settings) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ValidationFailed.for_field("repoUrl", f"Not a valid URL: {exc}") from exc
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise ValidationFailed.for_field(
            "repoUrl", "Must be an https:// URL of a git repository", "url_refused"
        )
    if parts.username or parts.password:
        raise ValidationFailed.for_field(
            "repoUrl",
            "Must not contain credentials; add a credential for the host instead",
            "url_refused",
        )
    if parts.scheme == "http" and not (settings.allow_private_urls and _loopback(host)):
        raise ValidationFailed.for_field(
            "repoUrl", "Must be an https:// URL (plain http is refused)", "url_refused"
        )
    return parts.scheme, host, port


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def check_repo_url(url: str, settings: Settings) -> None:
    """422 on `repoUrl` for a URL a task may not clone (a host that does not resolve now is
    accepted: it is checked again when the task clones)."""
    _scheme, host, port = _parts(url, settings)
    try:
        await check_address(host, port, settings)
    except OutboundRefused as exc:
        raise ValidationFailed.for_field("repoUrl", exc.message, "url_refused") from exc
    except UpstreamError:
        return


async def remote(url: str, settings: Settings) -> Remote:
    """The checked remote, pinned to the addresses checked now (GitFailed when refused)."""
    try:
        _scheme, host, port = _parts(url, settings)
        addresses = await check_address(host, port, settings)
    except (ValidationFailed, UpstreamError) as exc:
        raise GitFailed(exc.message) from exc
    listed = ",".join(_bracketed(a) for a in addresses)
    return Remote(url, host, port, (f"{_bracketed(host)}:{port}:{listed}",))


def _bracketed(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def auth_header(token: str) -> str:
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return f"Authorization: Basic {basic}"


@dataclass(frozen=True)
class Git:
    """Runs git with a private HOME and the lockdown above."""

    home: Path
    timeout: float

    def env(
        self, *, protocols: str, remote: Remote | None, token: str | None, trusted: Path | None
    ) -> dict[str, str]:
        config = [
            ("http.followRedirects", "false"),
            ("credential.helper", ""),
            ("core.hooksPath", "/dev/null"),
            ("core.askPass", ""),
            ("protocol.allow", "never"),
            *((f"protocol.{p}.allow", "always") for p in protocols.split(":")),
            ("init.defaultBranch", "main"),
            ("advice.detachedHead", "false"),
        ]
        if remote is not None:
            config += [("http.curloptResolve", pin) for pin in remote.pins]
        if token:
            config.append(("http.extraHeader", auth_header(token)))
        if trusted is not None:  # a directory only this process wrote, owned by the sandbox
            config.append(("safe.directory", str(trusted)))
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "GIT_ALLOW_PROTOCOL": protocols,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "",
            "SSH_ASKPASS": "",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_CONFIG_COUNT": str(len(config)),
        }
        for index, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        return env

    async def run(
        self,
        *args: str,
        cwd: Path | None = None,
        protocols: str = "https",
        remote: Remote | None = None,
        token: str | None = None,
        trusted: Path | None = None,
    ) -> str:
        """git `args`; its stdout, or GitFailed with its error message."""
        proc = await asyncio.create_subprocess_exec(
            "git",
            *args,
            cwd=cwd or self.home,
            env=self.env(protocols=protocols, remote=remote, token=token, trusted=trusted),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        try:
            async with asyncio.timeout(self.timeout):
                stdout, stderr = await proc.communicate()
        except TimeoutError as exc:
            _kill(proc)
            raise GitFailed(f"git {args[0]} took longer than {self.timeout:g} s") from exc
        except BaseException:
            _kill(proc)
            raise
        if proc.returncode != 0:
            text = stderr.decode(errors="replace").strip() or f"git exited {proc.returncode}"
            raise GitFailed(scrub(text, token)[-MAX_MESSAGE_CHARS:])
        return stdout.decode(errors="replace")


def scrub(text: str, token: str | None) -> str:
    if token:
        text = text.replace(token, "***").replace(auth_header(token), "***")
    return text


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
