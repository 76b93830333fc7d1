"""A task's repository: cloned on the host into a private bare repository, laid out in the
sandbox, committed inside the sandbox, brought back as a bundle, pushed from the private
repository (see git.py for why git never runs on the host in the sandbox's files)."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from orbiter.coding import SandboxWorkspace
from orbiter.sandbox import HOME, disk_usage
from orbiter.tasks.git import Git, GitFailed, Remote

BUNDLE = ".orbiter-changes.bundle"
COMMIT_SCRIPT = """set -e
rm -f -- "$BUNDLE"
git checkout -q -b "$BRANCH"
git add -A
if git diff --cached --quiet; then echo "none"; exit 0; fi
git -c user.name="$NAME" -c user.email="$EMAIL" commit -q --no-verify -m "$MESSAGE"
if [ -n "$BASE" ]; then git bundle create "$BUNDLE" "$BRANCH" "^$BASE" 2>/dev/null
else git bundle create "$BUNDLE" "$BRANCH" 2>/dev/null; fi
git rev-parse HEAD
"""
SANDBOX_GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"}


@dataclass
class Repository:
    git: Git
    remote: Remote
    private: Path  # the host's own directory for this task (never seen by the sandbox)
    token: str | None
    max_bytes: int  # the sandbox's disk quota: a larger clone is refused

    @property
    def bare(self) -> Path:
        return self.private / "origin.git"

    @property
    def protocols(self) -> str:
        return self.remote.url.split(":", 1)[0]

    async def clone(self) -> str | None:
        """Clone the remote; the commit its HEAD names (None for an empty repository)."""
        self.private.mkdir(parents=True, exist_ok=True, mode=0o700)
        await self.git.run(
            "clone",
            "--bare",
            "--quiet",
            "--",
            self.remote.url,
            str(self.bare),
            protocols=self.protocols,
            remote=self.remote,
            token=self.token,
        )
        size = await asyncio.to_thread(disk_usage, self.bare)
        if size > self.max_bytes:
            raise GitFailed(
                f"The repository takes {size} bytes, more than a sandbox may hold "
                f"(ORBITER_SANDBOX_DISK_BYTES={self.max_bytes})"
            )
        try:
            return (await self.git.run("rev-parse", "--verify", "HEAD", cwd=self.bare)).strip()
        except GitFailed:
            return None

    async def lay_out(self, workspace: SandboxWorkspace) -> None:
        """The working tree in the sandbox's home, given to the sandbox's user."""
        work_dir = workspace.work_dir
        await self.git.run(
            "clone",
            "--quiet",
            "--no-hardlinks",
            "--",
            str(self.bare),
            str(work_dir),
            protocols="file",
        )
        await self.git.run(
            "remote", "set-url", "origin", self.remote.url, cwd=work_dir, trusted=work_dir
        )
        await asyncio.to_thread(_hand_over_tree, workspace, work_dir)

    async def commit(
        self,
        workspace: SandboxWorkspace,
        *,
        branch: str,
        base: str | None,
        author: tuple[str, str],
        message: str,
    ) -> str | None:
        """Commit everything the agent changed to `branch` (inside the sandbox) and bring the
        commit into the private repository; its sha, or None when nothing changed."""
        env = {
            **SANDBOX_GIT_ENV,
            "BUNDLE": f"{HOME}/{BUNDLE}",
            "BRANCH": branch,
            "NAME": author[0],
            "EMAIL": author[1],
            "MESSAGE": message,
            "BASE": base or "",
        }
        result = await workspace.run(["sh", "-c", COMMIT_SCRIPT], env=env)
        if result.exit_code != 0:
            raise GitFailed(f"Could not commit: {(result.stderr.strip() or result.stdout)[-2000:]}")
        sha = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
        if sha == "none":
            return None
        copied = self.private / "changes.bundle"
        await asyncio.to_thread(_copy_regular_file, workspace.work_dir / BUNDLE, copied)
        await self.git.run(
            "fetch",
            "--quiet",
            str(copied),
            f"refs/heads/{branch}:refs/heads/{branch}",
            cwd=self.bare,
            protocols="file",
        )
        fetched = (await self.git.run("rev-parse", f"refs/heads/{branch}", cwd=self.bare)).strip()
        if fetched != sha:
            raise GitFailed("The sandbox's commit did not come back intact")
        return sha

    async def push(self, branch: str) -> None:
        await self.git.run(
            "push",
            "--quiet",
            "--",
            self.remote.url,
            f"refs/heads/{branch}:refs/heads/{branch}",
            cwd=self.bare,
            protocols=self.protocols,
            remote=self.remote,
            token=self.token,
        )

    def remove(self) -> None:
        shutil.rmtree(self.private, ignore_errors=True)


def _hand_over_tree(workspace: SandboxWorkspace, root: Path) -> None:
    runner = workspace.host.runner
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            runner.hand_over(Path(directory, name))


def _copy_regular_file(source: Path, target: Path) -> None:
    """Copy what the sandbox wrote, never following a link it may have put there."""
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise GitFailed(f"The sandbox's commit could not be read: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise GitFailed("The sandbox's commit is not a regular file")
        with open(target, "wb") as out:
            shutil.copyfileobj(file, out)
    source.unlink()  # (unlink never follows a link)
