"""The escape matrix: what a sandboxed command tries against the host, and what the host saw.

Each test asserts the host's side (its files, its process table, its loopback listener), not
only the command's exit code. Limits are set small here so that hitting them is quick.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from httpx import AsyncClient

from orbiter.core.settings import Settings
from orbiter.runtime.resources import Resources
from orbiter.sandbox import Command
from orbiter.sandboxes.host import SandboxHost
from tests.sandboxes.conftest import start, terminal


@pytest.fixture
def settings_(resources: Resources) -> Settings:
    return resources.settings


@pytest.fixture
async def sbx(user: AsyncClient) -> str:
    return str((await start(user))["sbxId"])


def host_processes(marker: str = "") -> list[str]:
    """The host's processes (their command lines), those containing `marker` if given."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            text = cmdline.decode(errors="replace")
            if marker in text:
                found.append(text)
    return found


def descendants(root: int | None = None) -> set[int]:
    """The host pids below `root` (default: this test process; sandboxes are its children)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found: set[int] = set()
    stack = [root or os.getpid()]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def command_lines(pids: set[int]) -> list[str]:
    lines = []
    for pid in pids:
        with contextlib.suppress(OSError):
            lines.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
    return lines


async def test_host_secrets_are_not_there(user: AsyncClient, sbx: str) -> None:
    assert Path("/etc/shadow").exists()  # the host has one; the sandbox must not see it
    read = await terminal(user, sbx, "cat /etc/shadow; ls /root /etc | head -50")
    assert read["exitCode"] != 0 or "No such file" in read["stderr"]
    assert "root:" not in read["stdout"] and "shadow" not in read["stdout"]
    assert "No such file or directory" in read["stderr"]


async def test_no_privileges_and_no_namespaces_of_its_own(user: AsyncClient, sbx: str) -> None:
    status = await terminal(user, sbx, "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status")
    assert status["stdout"].split() == ["CapEff:", "0000000000000000", "NoNewPrivs:", "1"]
    nested = await terminal(user, sbx, "unshare --user --map-root-user true")
    assert nested["exitCode"] != 0  # no user namespace to be root in


async def test_writes_outside_the_work_dir_never_reach_the_host(
    user: AsyncClient, sbx: str, host: SandboxHost, tmp_path: Path
) -> None:
    tmp_path.chmod(0o777)  # even a host directory anyone may write to stays untouched
    marker = f"orbiter-escape-{uuid.uuid4().hex}"
    targets = [
        f"/tmp/{marker}",  # noqa: S108 - the sandbox's own /tmp (a tmpfs), not the host's
        f"{tmp_path}/{marker}",
        f"{host.root}/{marker}",  # next to its own work dir on the host
        f"/usr/{marker}",
        f"/{marker}",
    ]
    command = "; ".join(f"echo pwned > {t}" for t in targets) + "; echo done"
    ran = await terminal(user, sbx, command)
    assert ran["stdout"] == "done\n"
    assert (
        ran["stderr"].count("Read-only file system") + ran["stderr"].count("No such file")
        >= len(targets) - 1
    )
    for target in targets:
        assert not Path(target).exists(), target
    inside = await terminal(user, sbx, f"echo kept > {marker}; cat {marker}")
    assert inside["stdout"] == "kept\n"  # its own work dir is writable, and only that
    assert (host.work_dir(uuid.UUID(sbx)) / marker).read_text() == "kept\n"


@pytest.fixture
async def loopback_listener() -> AsyncIterator[tuple[int, list[str]]]:
    """A TCP server on the host's 127.0.0.1; the list records every connection it gets."""
    connections: list[str] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(str(writer.get_extra_info("peername")))
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, connections
    finally:
        server.close()
        await server.wait_closed()


async def test_no_network_but_its_own_loopback(
    user: AsyncClient, sbx: str, loopback_listener: tuple[int, list[str]]
) -> None:
    port, connections = loopback_listener
    interfaces = await terminal(user, sbx, "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")
    assert interfaces["stdout"] == "lo\n"
    script = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
        "    print('connected')\n"
        "except OSError as e:\n"
        "    print('refused', e.errno)\n"
    )
    tried = await start(user, script)
    assert tried["stdout"].startswith("refused")
    bash = await terminal(user, sbx, f"echo hi > /dev/tcp/127.0.0.1/{port}")
    assert bash["exitCode"] != 0
    await asyncio.sleep(0.05)  # anything that had connected would be recorded by now
    assert connections == []  # the host's listener never heard from the sandbox
    # The check itself works: a host client does reach the listener.
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.close()
    for _ in range(50):
        if connections:
            break
        await asyncio.sleep(0.01)
    assert len(connections) == 1


async def test_a_fork_bomb_is_bounded_and_cleaned_up(
    user: AsyncClient, sbx: str, settings_: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings_, "sandbox_processes", 32)
    monkeypatch.setattr(settings_, "sandbox_command_seconds", 1.5)
    before = descendants()
    bomb = await terminal(user, sbx, "bomb() { bomb | bomb & }; bomb; sleep 0.5; ps -e | wc -l")
    peak = int(bomb["stdout"].split()[-1]) if bomb["stdout"].strip() else 0
    assert peak <= 32 + 2  # ps's own line and header: the sandbox never had more than its limit
    assert "Resource temporarily unavailable" in bomb["stderr"]
    assert descendants() <= before  # every process the bomb made is gone from the host


async def test_unbounded_allocation_fails_and_a_cpu_hog_is_killed(
    user: AsyncClient, settings_: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings_, "sandbox_memory_bytes", 256 * 1024**2)
    hog = await start(user, "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024**2))")
    assert hog["runtimeError"]["name"] == "MemoryError"
    monkeypatch.setattr(settings_, "sandbox_cpu_seconds", 1)
    spin = await start(user, "while True:\n    pass")
    assert spin["limit"] == "cpu" and spin["exitCode"] == 128 + 24  # SIGXCPU
    assert spin["runtimeError"]["name"] == "LimitExceeded"


async def test_sleeping_forever_is_killed_at_the_wall_clock(
    user: AsyncClient, sbx: str, settings_: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings_, "sandbox_command_seconds", 1.0)
    marker = "infinity"
    started = asyncio.get_running_loop().time()
    slept = await terminal(user, sbx, f"echo going; sleep {marker}")
    elapsed = asyncio.get_running_loop().time() - started
    assert slept["limit"] == "wall_clock" and slept["exitCode"] == 137
    assert slept["stdout"] == "going\n"  # what it printed before being killed is kept
    assert 0.9 <= elapsed < 5  # killed at 1 s (bubblewrap starting and stopping around it)
    assert not [cmd for cmd in command_lines(descendants()) if cmd.startswith("sleep")]


async def test_background_processes_die_with_the_command(user: AsyncClient, sbx: str) -> None:
    marker = f"1000.{uuid.uuid4().int % 10**6}"
    ran = await terminal(user, sbx, f"sleep {marker} & nohup sleep {marker} >/dev/null & echo ok")
    assert ran["stdout"] == "ok\n" and ran["exitCode"] == 0
    assert host_processes(f"sleep {marker}") == []  # gone from the host's process table


async def test_disk_quota_and_file_size(
    user: AsyncClient,
    sbx: str,
    host: SandboxHost,
    settings_: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings_, "sandbox_disk_bytes", 2 * 1024**2)
    monkeypatch.setattr(settings_, "sandbox_file_bytes", 1024**2)
    work_dir = host.work_dir(uuid.UUID(sbx))
    big = await terminal(user, sbx, "head -c 3M /dev/zero > big")
    assert big["limit"] == "file_size" and big["exitCode"] == 128 + 25  # SIGXFSZ
    assert (work_dir / "big").stat().st_size <= 1024**2

    filler = "for i in $(seq 100); do head -c 512K /dev/zero > f$i; sleep 0.05; done"
    filled = await terminal(user, sbx, filler)
    assert filled["limit"] == "disk_quota" and filled["exitCode"] == 137
    written = len(list(work_dir.glob("f*")))
    assert written < 20  # killed as it went over, long before its hundred files
    more = await terminal(user, sbx, "head -c 512K /dev/zero > more")
    assert more["limit"] == "disk_quota"  # still over: growing further is refused
    cleaned = await terminal(user, sbx, "rm -f big more f*; echo clean")
    assert cleaned["limit"] is None and cleaned["stdout"] == "clean\n"
    assert list(work_dir.iterdir()) == []


async def test_a_cancelled_request_takes_its_command_with_it(host: SandboxHost) -> None:
    """A client that hangs up cancels the request; the command it started must not run on."""
    sandbox_id = uuid.uuid4()
    host.runner.prepare(host.work_dir(sandbox_id))
    marker = f"1000.{uuid.uuid4().int % 10**6}"
    running = asyncio.create_task(host.run(sandbox_id, Command(["sleep", marker])))
    seen = False
    for _ in range(200):  # until it is running on the host
        if seen := any(marker in line for line in command_lines(descendants())):
            break
        await asyncio.sleep(0.02)
    assert seen
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    await asyncio.sleep(0.1)
    assert not [line for line in command_lines(descendants()) if marker in line]
    await host.destroy(sandbox_id)
