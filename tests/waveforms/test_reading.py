"""Uploading real VCD, FST and GHW files and reading them back: metadata, the hierarchy,
a signal's values at known times, bounded queries, the original bytes, delete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient

from orbiter.runtime.resources import Resources
from tests.helpers import API, SignedIn, SignedInFactory, assert_error
from tests.waveforms.files import shared_fixture, simulated, uploaded


@pytest.fixture
async def user(signed_in: SignedInFactory) -> SignedIn:
    return await signed_in()


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("simulated")


def _signals(scope: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {s["path"]: s for s in scope["signals"]}
    for child in scope["scopes"]:
        found |= _signals(child)
    return found


async def _values(client: AsyncClient, waveform_id: object, path: str, **query: Any) -> Any:
    response = await client.get(f"{API}/waveforms/{waveform_id}/signals/{path}", params=query)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_shared_vcd_fst_and_ghw_files_parse_into_hierarchy_and_values(
    user: SignedIn,
) -> None:
    gcd = await uploaded(user.api, "GCD.vcd", shared_fixture("GCD.vcd"))
    fst = await uploaded(user.cli, "basic_test.fst", shared_fixture("basic_test.fst"))
    ghw = await uploaded(user.browser, "ali.ghw", shared_fixture("ali.ghw"))
    assert {k: gcd[k] for k in ("name", "format", "size", "timescale")} == {
        "name": "GCD.vcd",
        "format": "vcd",
        "size": len(shared_fixture("GCD.vcd")),
        "timescale": "1ps",
    }
    assert (gcd["start_time"], gcd["end_time"], gcd["signal_count"]) == (0, 4, 16)
    assert (fst["format"], fst["end_time"], fst["signal_count"]) == ("fst", 7, 7)
    assert (ghw["format"], ghw["timescale"], ghw["end_time"]) == ("ghw", "1fs", 150_000_000)

    detail = (await user.api.get(f"{API}/waveforms/{gcd['id']}")).json()
    [top] = detail["hierarchy"]["scopes"]
    assert (top["name"], top["type"]) == ("GCD", "module")
    assert _signals(top)["GCD.io_a"] == {
        "name": "io_a",
        "path": "GCD.io_a",
        "width": 32,
        "type": "Wire",
        "direction": "Unknown",
    }
    x = await _values(user.api, gcd["id"], "GCD.x")
    assert [(c["time"], c["value"]) for c in x["changes"]] == [
        (0, "x" * 32),
        (1, format(34, "032b")),
        (2, format(17, "032b")),
    ]
    assert x["downsampled"] is False and x["change_count"] == 3

    fst_tree = (await user.api.get(f"{API}/waveforms/{fst['id']}")).json()["hierarchy"]
    nested = _signals(fst_tree["scopes"][0])
    assert nested["TOP.VerilatorBasicTests_Anon.counter"]["width"] == 8
    out = await _values(user.api, fst["id"], "TOP/io_out", **{"from": 4, "to": 7})
    assert out["value_at_from"] == "00000001"  # set at 3
    assert [(c["time"], c["value"]) for c in out["changes"]] == [(5, "00000010"), (7, "00000011")]

    large = await _values(user.api, ghw["id"], "ali.large", **{"from": 50_000_000})
    assert large["changes"][0] == {"time": 50_000_000, "value": format(89, "07b")}
    assert large["signal"]["type"] == "StdLogicVector"


@pytest.mark.parametrize("kind", ["vcd", "fst", "ghw"])
async def test_files_made_by_the_simulators_read_back_the_counter(
    user: SignedIn, sim_dir: Path, kind: str
) -> None:
    """counter_tb counts on each rising edge of a 10 ns clock: 5 from 45 ns to 55 ns."""
    data = simulated(kind, sim_dir)
    made = await uploaded(user.api, f"counter.{kind}", data)
    ns = 1_000_000 if kind == "ghw" else 1000  # GHW counts femtoseconds, the others 1ps
    assert made["timescale"] == ("1fs" if kind == "ghw" else "1ps")
    tree = (await user.api.get(f"{API}/waveforms/{made['id']}")).json()["hierarchy"]
    [bench] = [s for s in tree["scopes"] if s["name"] == "counter_tb"]
    assert set(_signals(bench)) == {"counter_tb.clk", "counter_tb.count"}
    assert _signals(bench)["counter_tb.count"]["width"] == 4

    window = await _values(
        user.api, made["id"], "counter_tb.count", **{"from": 40 * ns, "to": 60 * ns}
    )
    assert window["value_at_from"] == "0100"
    assert window["changes"] == [
        {"time": 45 * ns, "value": "0101"},
        {"time": 55 * ns, "value": "0110"},
    ]
    download = await user.api.get(f"{API}/waveforms/{made['id']}/download")
    assert download.status_code == 200 and download.content == data


async def test_a_signal_query_returns_at_most_max_points_keeping_every_busy_span(
    user: SignedIn, sim_dir: Path
) -> None:
    made = await uploaded(user.api, "counter.vcd", simulated("vcd", sim_dir))
    full = await _values(user.api, made["id"], "counter_tb/clk", max_points=10_000)
    times = [c["time"] for c in full["changes"]]
    assert full["downsampled"] is False and len(times) == full["change_count"] >= 20

    few = await _values(user.api, made["id"], "counter_tb.clk", max_points=4)
    kept = [c["time"] for c in few["changes"]]
    assert few["downsampled"] is True and few["change_count"] == len(times)
    assert 0 < len(kept) <= 4 and kept == sorted(kept) and set(kept) <= set(times)
    assert kept[0] == times[0] and kept[-1] == times[-1]  # the first and last spans' edges
    assert few["max_points"] == 4

    too_many = await user.api.get(
        f"{API}/waveforms/{made['id']}/signals/counter_tb.clk", params={"max_points": 10_001}
    )
    assert_error(too_many, 422, "VALIDATION_ERROR")
    backwards = await user.api.get(
        f"{API}/waveforms/{made['id']}/signals/counter_tb.clk", params={"from": 9, "to": 1}
    )
    assert_error(backwards, 422, "VALIDATION_ERROR")
    for unknown in ("counter_tb.nope", "counter_tb", "nope%2Fclk"):
        missing = await user.api.get(f"{API}/waveforms/{made['id']}/signals/{unknown}")
        assert_error(missing, 404, "RESOURCE_NOT_FOUND")
    escaped = await _values(user.api, made["id"], "counter_tb%2Fcount", to=0)
    assert escaped["signal"]["path"] == "counter_tb.count"


async def test_list_download_and_delete_remove_the_file_when_no_one_else_has_it(
    user: SignedIn, signed_in: SignedInFactory, resources: Resources
) -> None:
    data = shared_fixture("GCD.vcd")
    first = await uploaded(user.api, "GCD.vcd", data)
    second = await uploaded(user.api, "again.vcd", data)
    listed = (await user.api.get(f"{API}/waveforms")).json()
    assert [w["id"] for w in listed["data"]] == [second["id"], first["id"]]
    assert listed["pagination"]["total"] == 2
    download = await user.api.get(f"{API}/waveforms/{first['id']}/download")
    assert download.content == data
    assert download.headers["content-type"] == "application/octet-stream"
    assert "GCD.vcd" in download.headers["content-disposition"]

    deleted = await user.api.delete(f"{API}/waveforms/{first['id']}")
    assert deleted.status_code == 204
    assert_error(await user.api.get(f"{API}/waveforms/{first['id']}"), 404, "RESOURCE_NOT_FOUND")
    still = await user.api.get(f"{API}/waveforms/{second['id']}/download")
    assert still.content == data  # same bytes, still named by the other waveform
    assert (await user.browser.delete(f"{API}/waveforms/{second['id']}")).status_code == 204
    sha = str(first["sha256"])
    assert not await resources.blobs.exists(f"waveforms/{sha[:2]}/{sha[2:4]}/{sha}")
    assert (await user.api.get(f"{API}/waveforms")).json()["data"] == []


async def test_queries_read_the_stored_file_when_no_parsed_copy_is_kept(
    user: SignedIn, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ORBITER_WAVEFORM_CACHE_FILES=0 every query parses the stored original again; with
    room for one file, a file pushed out by newer uploads is read back from the store."""
    expected = [(0, "x" * 32), (1, format(34, "032b")), (2, format(17, "032b"))]
    gcd = await uploaded(user.api, "GCD.vcd", shared_fixture("GCD.vcd"))
    await _values(user.api, gcd["id"], "GCD.x")  # parsed and kept
    monkeypatch.setattr(resources.settings, "waveform_cache_files", 0)  # then nothing kept
    for _ in range(2):
        x = await _values(user.api, gcd["id"], "GCD.x")
        assert [(c["time"], c["value"]) for c in x["changes"]] == expected

    monkeypatch.setattr(resources.settings, "waveform_cache_files", 1)
    await uploaded(user.api, "basic_test.fst", shared_fixture("basic_test.fst"))
    await uploaded(user.api, "ali.ghw", shared_fixture("ali.ghw"))  # pushes the FST out
    for _ in range(2):
        x = await _values(user.api, gcd["id"], "GCD/x")
        assert [(c["time"], c["value"]) for c in x["changes"]] == expected
