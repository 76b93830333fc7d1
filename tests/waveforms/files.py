"""Waveform files for the tests: the real ones in ../shared/fixtures/waveforms (read in place)
and ones made here by the real simulators from tests/fixtures/waveforms (counter.v, .vhd)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from httpx import AsyncClient, Response

from tests.helpers import API

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "tests" / "fixtures" / "waveforms"


def shared_fixture(name: str) -> bytes:
    """A file from the shared fixtures (../shared/fixtures/waveforms); skips when absent."""
    for parent in ROOT.parents:
        found = parent / "shared" / "fixtures" / "waveforms" / name
        if found.is_file():
            return found.read_bytes()
    pytest.skip(f"shared fixture waveforms/{name} is not present (../shared/fixtures)")


def _run(command: list[str], cwd: Path) -> None:
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, timeout=60)


def _tools(*names: str) -> None:
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (apt-get install iverilog ghdl gtkwave)")


def simulated(kind: str, workdir: Path) -> bytes:
    """counter.vcd (iverilog + vvp), counter.fst (the VCD through vcd2fst) or counter.ghw
    (ghdl); skips when the tool is not installed."""
    if kind in ("vcd", "fst"):
        _tools("iverilog", "vvp", *(["vcd2fst"] if kind == "fst" else []))
        if not (workdir / "counter.vcd").exists():
            shutil.copy(SOURCES / "counter.v", workdir)
            _run(["iverilog", "-o", "counter.vvp", "counter.v"], workdir)
            _run(["vvp", "-n", "counter.vvp"], workdir)
        if kind == "fst" and not (workdir / "counter.fst").exists():
            _run(["vcd2fst", "counter.vcd", "counter.fst"], workdir)
    else:
        _tools("ghdl")
        if not (workdir / "counter.ghw").exists():
            shutil.copy(SOURCES / "counter.vhd", workdir)
            _run(["ghdl", "-a", "--std=08", "counter.vhd"], workdir)
            _run(["ghdl", "-e", "--std=08", "counter_tb"], workdir)
            wave = ["--wave=counter.ghw", "--stop-time=100ns"]
            _run(["ghdl", "-r", "--std=08", "counter_tb", *wave], workdir)
    return (workdir / f"counter.{kind}").read_bytes()


async def upload(client: AsyncClient, name: str, data: bytes, **fields: str) -> Response:
    return await client.post(f"{API}/waveforms", files={"file": (name, data)}, data=fields)


async def uploaded(client: AsyncClient, name: str, data: bytes) -> dict[str, object]:
    response = await upload(client, name, data)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body
