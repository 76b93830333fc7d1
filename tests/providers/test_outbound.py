"""The SSRF guard: provider URLs must reach public addresses, checked after DNS resolution.

A resolver we control stands in for DNS (`orbiter.core.outbound.resolve_host`), so
`evil.example` can "resolve" to 10.0.0.1 without any traffic to a private range.
"""

from __future__ import annotations

import pytest

from orbiter.core import outbound
from orbiter.core.outbound import forbidden_reason
from orbiter.runtime.resources import Resources
from tests.fakes.llm_servers import FakeLLM, create_fake_provider
from tests.helpers import SignedInFactory, assert_error

PUBLIC = "93.184.216.34"
REFUSED = [
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "127.0.0.1",
    "127.8.8.8",
    "169.254.169.254",
    "169.254.1.1",
    "100.64.0.1",
    "0.0.0.0",  # noqa: S104 - a refused address, not a bind
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "168.63.129.16",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",
    "::ffff:10.0.0.1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",
    "2002:a00:1::",  # 6to4 wrapping 10.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 wrapping 169.254.169.254
    "ff02::1",
]


class FakeDns(dict[str, list[str]]):
    """Names to addresses: `dns["evil.example"] = ["10.0.0.1"]`; `calls` lists the lookups."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    """A fake DNS in place of the real one; unknown names fail to resolve."""
    table = FakeDns()

    async def resolve(host: str, port: int) -> list[str]:
        table.calls.append(host)
        if host in table:
            return table[host]
        if all(c.isdigit() or c in ".:abcdef" for c in host.lower()):
            return [host]  # an IP literal
        raise OSError(f"no such host {host}")

    monkeypatch.setattr(outbound, "resolve_host", resolve)
    return table


@pytest.fixture
def strict(resources: Resources, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources.settings, "allow_private_urls", False)


def body(base_url: str, name: str = "p") -> dict[str, object]:
    return {
        "name": name,
        "type": "openai_compatible",
        "base_url": base_url,
        "api_key": "sk-x-12345678",
    }


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert forbidden_reason(address) is not None


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert forbidden_reason(address) is None


@pytest.mark.parametrize(
    "address",
    ["10.0.0.1", "127.0.0.1", "169.254.169.254", "100.64.0.1", "fd00::1", "::ffff:10.0.0.1"],
)
async def test_create_refuses_a_host_resolving_to_a_private_address(
    signed_in: SignedInFactory, dns: FakeDns, strict: None, address: str
) -> None:
    dns["evil.example"] = [address]
    user = await signed_in()
    response = await user.browser.post("/api/v1/providers", json=body("https://evil.example/v1"))
    error = assert_error(response, 422, "VALIDATION_ERROR")
    [field] = error["details"]["fields"]
    assert field["field"] == "base_url"
    assert address in field["message"] and "public" in field["message"]
    assert (await user.browser.get("/api/v1/providers")).json()["data"] == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/v1",
        "http://[::1]/v1",
        "http://169.254.169.254/latest",
        "http://[::ffff:a00:1]/v1",
        "http://0.0.0.0/v1",
    ],
)
async def test_create_refuses_private_ip_literals(
    signed_in: SignedInFactory, dns: FakeDns, strict: None, url: str
) -> None:
    user = await signed_in()
    assert_error(
        await user.browser.post("/api/v1/providers", json=body(url)), 422, "VALIDATION_ERROR"
    )


async def test_a_name_with_any_private_address_is_refused(
    signed_in: SignedInFactory, dns: FakeDns, strict: None
) -> None:
    dns["mixed.example"] = [PUBLIC, "10.1.2.3"]
    user = await signed_in()
    assert_error(
        await user.browser.post("/api/v1/providers", json=body("https://mixed.example")),
        422,
        "VALIDATION_ERROR",
    )


async def test_metadata_host_names_are_refused(
    signed_in: SignedInFactory, dns: FakeDns, strict: None
) -> None:
    dns["metadata.google.internal"] = [PUBLIC]
    user = await signed_in()
    error = assert_error(
        await user.browser.post(
            "/api/v1/providers", json=body("http://metadata.google.internal/v1")
        ),
        422,
        "VALIDATION_ERROR",
    )
    assert "metadata" in error["details"]["fields"][0]["message"]


async def test_ollama_default_url_is_loopback_and_refused(
    signed_in: SignedInFactory, dns: FakeDns, strict: None
) -> None:
    user = await signed_in()
    response = await user.browser.post(
        "/api/v1/providers", json={"name": "local", "type": "ollama"}
    )
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert "loopback" in error["details"]["fields"][0]["message"]


async def test_public_hosts_are_accepted(
    signed_in: SignedInFactory, dns: FakeDns, strict: None
) -> None:
    dns["llm.example"] = [PUBLIC]
    user = await signed_in()
    response = await user.browser.post("/api/v1/providers", json=body("https://llm.example/v1"))
    assert response.status_code == 201, response.text


async def test_update_refuses_a_private_url_and_keeps_the_old_one(
    signed_in: SignedInFactory, dns: FakeDns, strict: None
) -> None:
    dns["llm.example"], dns["evil.example"] = [PUBLIC], ["192.168.0.10"]
    user = await signed_in()
    created = (
        await user.browser.post("/api/v1/providers", json=body("https://llm.example/v1"))
    ).json()
    response = await user.browser.put(
        f"/api/v1/providers/{created['id']}", json={"base_url": "https://evil.example/v1"}
    )
    assert_error(response, 422, "VALIDATION_ERROR")
    [still] = (await user.browser.get("/api/v1/providers")).json()["data"]
    assert still["base_url"] == "https://llm.example/v1"


async def test_a_url_refused_at_use_time_is_502_and_sends_nothing(
    signed_in: SignedInFactory,
    fake_llm: FakeLLM,
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = await signed_in()
    created = await create_fake_provider(user.browser, fake_llm)  # allowed while private URLs are
    monkeypatch.setattr(resources.settings, "allow_private_urls", False)
    error = assert_error(
        await user.browser.post(
            "/api/v1/chat", json={"messages": [{"role": "user", "content": "hi"}]}
        ),
        502,
        "UPSTREAM_ERROR",
    )
    assert "Refused to connect" in error["message"] and "127.0.0.1" in error["message"]
    result = (await user.browser.post(f"/api/v1/providers/{created['id']}/test")).json()
    assert result["success"] is False and "Refused to connect" in result["error"]
    assert fake_llm.requests == []


async def test_dns_rebinding_is_caught_at_connect_time(
    signed_in: SignedInFactory,
    fake_llm: FakeLLM,
    dns: FakeDns,
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Public when checked at create, loopback when used: the connect-time check refuses."""
    port = fake_llm.openai_url.split(":")[2].split("/")[0]
    monkeypatch.setattr(resources.settings, "allow_private_urls", False)
    dns["rebind.example"] = [PUBLIC]
    user = await signed_in()
    response = await user.browser.post(
        "/api/v1/providers", json=body(f"http://rebind.example:{port}/v1")
    )
    assert response.status_code == 201, response.text
    dns["rebind.example"] = ["127.0.0.1"]
    error = assert_error(
        await user.browser.post(
            "/api/v1/chat", json={"messages": [{"role": "user", "content": "hi"}]}
        ),
        502,
        "UPSTREAM_ERROR",
    )
    assert "rebind.example resolves to 127.0.0.1" in error["message"]
    assert fake_llm.requests == []


async def test_connects_to_the_address_it_checked(
    signed_in: SignedInFactory, fake_llm: FakeLLM, dns: FakeDns
) -> None:
    """`llm.example` exists only in our resolver: reaching the fake proves the connection
    used the checked address, while the Host header keeps the name (TLS would verify it)."""
    port = fake_llm.openai_url.split(":")[2].split("/")[0]
    dns["llm.example"] = ["127.0.0.1"]
    user = await signed_in()
    response = await user.browser.post(
        "/api/v1/providers", json=body(f"http://llm.example:{port}/v1")
    )
    assert response.status_code == 201, response.text
    chat = await user.browser.post(
        "/api/v1/chat", json={"messages": [{"role": "user", "content": "hi"}]}
    )
    assert chat.status_code == 200, chat.text
    [sent] = fake_llm.completions()
    assert sent.headers["host"] == f"llm.example:{port}"
    assert "llm.example" in dns.calls
