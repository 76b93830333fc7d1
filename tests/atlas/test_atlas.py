"""The project atlas through HTTP: a small multi-language tree (Python, JavaScript, TypeScript,
Go) uploaded as a snapshot, indexed into systems, modules, code concepts and import edges;
re-indexing replaces the graph; search ranks; diagrams are built from the graph."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from orbiter.runtime.resources import Resources
from tests.atlas.util import PROJECTS, snapshot
from tests.fakes.llm_servers import FakeLLM, create_fake_provider
from tests.helpers import add_member, assert_error, browser_for, new_project
from tests.live import ROOT

MAX_FILE_BYTES = 4000

SHOP_INIT = b'"""The shop package."""\n'
MODELS_PY = b'''"""Orders and their lines."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa


@dataclass
class OrderLine:
    sku: str
    quantity: int
    price: Decimal


class Order:
    """An order a customer placed."""

    def __init__(self, lines: list[OrderLine]) -> None:
        self.lines = lines

    def total(self) -> Decimal:
        """The sum of the lines."""
        return sum((line.price * line.quantity for line in self.lines), Decimal(0))

    def _audit(self) -> None:
        pass


ORDERS = sa.table("orders", sa.column("id"))
'''
SERVICE_PY = b'''"""Placing orders."""

from .models import Order, OrderLine
from shop import models


async def place_order(lines: list[OrderLine]) -> Order:
    """Validate the lines and store the order."""
    order = Order(lines)
    models.ORDERS
    return order


def _helper() -> None:
    pass
'''
CLIENT_TS = b"""import axios, { AxiosInstance } from "axios";
import type { Order } from "../types";

/** Talks to the shop's HTTP API. */
export class ApiClient {
  private http: AxiosInstance;

  constructor(baseURL: string) {
    this.http = axios.create({ baseURL });
  }

  /** Fetch one order. */
  async getOrder(id: string): Promise<Order> {
    const response = await this.http.get<Order>(`/orders/${id}`);
    return response.data;
  }

  private log(message: string): void {
    console.log(message);
  }
}

export const createClient = (baseURL: string): ApiClient => new ApiClient(baseURL);
"""
TYPES_TS = b"""export interface Order {
  id: string;
  total: number;
}

export type OrderId = string;

export enum Status {
  Open = "open",
  Paid = "paid",
}
"""
INDEX_TSX = b"""import React from "react";
import { createClient } from "./api/client";
import { formatPrice } from "./lib/format.js";

export function App(): JSX.Element {
  const client = createClient("/api");
  return <h1>{formatPrice(10)}</h1>;
}
"""
FORMAT_TS = b"""export function formatPrice(value: number): string {
  return `$${value.toFixed(2)}`;
}
"""
SERVER_JS = b"""const express = require("express");
const { add } = require("./src/lib/math");

function createServer() {
  const app = express();
  app.get("/sum", (req, res) => res.json({ sum: add(1, 2) }));
  return app;
}

class HealthCheck {
  ping() {
    return "pong";
  }
}

module.exports = { createServer, HealthCheck };
"""
MATH_JS = b"""export function add(a, b) {
  return a + b;
}

export const multiply = (a, b) => a * b;
"""
GO_MOD = b"module example.com/shop\n\ngo 1.22\n"
MAIN_GO = b"""package main

import (
\t"fmt"
\t"net/http"

\t"example.com/shop/internal/store"
)

func main() {
\ts := store.Open("orders.db")
\thttp.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
\t\tfmt.Fprintln(w, s.Count())
\t})
}
"""
STORE_GO = b"""package store

import "sync"

// Store keeps orders in memory.
type Store struct {
\tmu     sync.Mutex
\torders map[string]int
}

// Reader reads orders.
type Reader interface {
\tCount() int
}

// Open opens a store at path.
func Open(path string) *Store {
\treturn &Store{orders: map[string]int{}}
}

// Count returns how many orders there are.
func (s *Store) Count() int {
\ts.mu.Lock()
\tdefer s.mu.Unlock()
\treturn len(s.orders)
}

func (s *Store) reset() {}
"""
TREE = {
    "README.md": b"# Shop\n",
    "src/shop/__init__.py": SHOP_INIT,
    "src/shop/models.py": MODELS_PY,
    "src/shop/service.py": SERVICE_PY,
    "src/shop/broken.py": b"def broken(:\n    pass\n",
    "src/shop/generated.py": b"# generated\n" + b"X = 1\n" * (MAX_FILE_BYTES // 6 + 10),
    "web/src/api/client.ts": CLIENT_TS,
    "web/src/types.ts": TYPES_TS,
    "web/src/index.tsx": INDEX_TSX,
    "web/src/lib/format.ts": FORMAT_TS,
    "web/server.js": SERVER_JS,
    "web/src/lib/math.js": MATH_JS,
    "web/node_modules/left-pad/index.js": b"module.exports = function leftPad() {}\n",
    "go.mod": GO_MOD,
    "cmd/server/main.go": MAIN_GO,
    "internal/store/store.go": STORE_GO,
}


@pytest.fixture(autouse=True)
def _small_files(resources: Resources, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources.settings, "atlas_max_file_bytes", MAX_FILE_BYTES)


async def _index(client: AsyncClient, project_id: str) -> dict[str, Any]:
    response = await client.post(f"{PROJECTS}/{project_id}/atlas/index")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _atlas(client: AsyncClient, project_id: str) -> dict[str, Any]:
    response = await client.get(f"{PROJECTS}/{project_id}/atlas")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _search(client: AsyncClient, project_id: str, query: str) -> list[dict[str, Any]]:
    response = await client.post(f"{PROJECTS}/{project_id}/atlas/search", json={"query": query})
    assert response.status_code == 200, response.text
    return response.json()["results"]  # type: ignore[no-any-return]


class Graph:
    def __init__(self, body: dict[str, Any]) -> None:
        self.concepts: list[dict[str, Any]] = body["concepts"]
        self.by_id = {c["id"]: c for c in self.concepts}
        self.edges = body["edges"]

    def find(self, layer: str, name: str, path: str | None = None) -> dict[str, Any]:
        [found] = [
            c
            for c in self.concepts
            if c["layer"] == layer and c["name"] == name and (path is None or c["path"] == path)
        ]
        return found

    def names(self, layer: str) -> set[str]:
        return {c["name"] for c in self.concepts if c["layer"] == layer}

    def imports(self, path: str) -> dict[str, str]:
        """What the module at `path` imports: target name → the names imported."""
        module = self.find("module", path)
        return {
            self.by_id[e["target_id"]]["name"]: e["label"]
            for e in self.edges
            if e["kind"] == "imports" and e["source_id"] == module["id"]
        }

    def parent(self, concept: dict[str, Any]) -> dict[str, Any]:
        return self.by_id[concept["parent_id"]]  # type: ignore[no-any-return]


async def test_index_finds_systems_modules_concepts_and_imports_in_four_languages(
    browser: AsyncClient,
) -> None:
    project_id = await new_project(browser, "Shop")
    assert_error(await browser.post(f"{PROJECTS}/{project_id}/atlas/index"), 400, "BAD_REQUEST")
    snapshot_id = await snapshot(browser, project_id, TREE)
    result = await _index(browser, project_id)
    assert result["snapshot_id"] == snapshot_id
    assert result["files_parsed"] == 11
    assert result["files_skipped"] == [
        {"path": "src/shop/generated.py", "reason": f"over {MAX_FILE_BYTES} bytes"}
    ]
    assert [e["path"] for e in result["parse_errors"]] == ["src/shop/broken.py"]

    graph = Graph(await _atlas(browser, project_id))
    assert len(graph.concepts) == result["concepts_created"]
    assert len(graph.edges) == result["edges_created"]
    assert graph.names("system") == {"src/shop", "web", "cmd/server", "internal/store"}
    assert graph.names("module") == {
        "src/shop/__init__.py",
        "src/shop/models.py",
        "src/shop/service.py",
        "web/server.js",
        "web/src/api/client.ts",
        "web/src/types.ts",
        "web/src/index.tsx",
        "web/src/lib/format.ts",
        "web/src/lib/math.js",
        "cmd/server/main.go",
        "internal/store/store.go",
    }
    # Python
    order = graph.find("class", "Order")
    assert order["description"] == "An order a customer placed."
    assert (order["path"], order["line"], order["language"]) == ("src/shop/models.py", 18, "python")
    assert graph.parent(order)["name"] == "src/shop/models.py"
    assert graph.parent(graph.parent(order))["name"] == "src/shop"
    total = graph.find("function", "Order.total")
    assert graph.parent(total)["id"] == order["id"] and total["exported"]
    assert not graph.find("function", "Order._audit")["exported"]
    assert graph.find("function", "place_order")["description"] == (
        "Validate the lines and store the order."
    )
    assert graph.names("class") >= {"Order", "OrderLine", "ApiClient", "HealthCheck", "Store"}
    assert graph.find("module", "src/shop/models.py")["description"] == "Orders and their lines."
    assert graph.imports("src/shop/service.py") == {
        "src/shop/models.py": "Order, OrderLine, models"
    }
    assert graph.imports("src/shop/models.py") == {
        "__future__": "annotations",
        "dataclasses": "dataclass",
        "decimal": "Decimal",
        "sqlalchemy": "",
    }
    # TypeScript and JavaScript
    client = graph.find("class", "ApiClient")
    assert client["exported"] and client["description"] == "Talks to the shop's HTTP API."
    assert client["language"] == "typescript"
    assert graph.find("function", "ApiClient.getOrder")["description"] == "Fetch one order."
    assert not graph.find("function", "ApiClient.log")["exported"]
    assert graph.find("function", "createClient")["exported"]
    assert graph.names("type") >= {"Order", "OrderId", "Status", "Reader"}
    assert graph.find("function", "App", "web/src/index.tsx")["exported"]
    assert graph.imports("web/src/index.tsx") == {
        "react": "React",
        "web/src/api/client.ts": "createClient",
        "web/src/lib/format.ts": "formatPrice",
    }
    assert graph.imports("web/src/api/client.ts") == {
        "axios": "axios, AxiosInstance",
        "web/src/types.ts": "Order",
    }
    assert graph.imports("web/server.js") == {"express": "", "web/src/lib/math.js": ""}
    assert graph.names("function") >= {"createServer", "add", "multiply", "formatPrice"}
    # Go
    store = graph.find("class", "Store")
    assert store["language"] == "go" and store["description"] == "Store keeps orders in memory."
    count = graph.find("function", "Store.Count")
    assert graph.parent(count)["id"] == store["id"] and count["exported"]
    assert not graph.find("function", "Store.reset")["exported"]
    assert graph.find("function", "Open")["description"] == "Open opens a store at path."
    assert graph.imports("cmd/server/main.go") == {
        "fmt": "",
        "net/http": "",
        "internal/store/store.go": "",
    }
    externals = {c["name"]: c["description"] for c in graph.concepts if c["layer"] == "external"}
    assert externals["sqlalchemy"] == "Python package"
    assert externals["decimal"] == "Python standard library"
    assert externals["react"] == "npm package" and externals["sync"] == "Go standard library"
    assert "left-pad" not in externals and not any(
        "node_modules" in n for n in graph.names("module")
    )


async def test_reindex_replaces_the_graph_and_search_ranks_concepts(
    app: FastAPI, browser: AsyncClient
) -> None:
    project_id = await new_project(browser, "Shop")
    await snapshot(browser, project_id, TREE)
    await _index(browser, project_id)
    before = Graph(await _atlas(browser, project_id))

    order_hits = await _search(browser, project_id, "order")
    assert order_hits[0]["name"] == "Order" and order_hits[0]["layer"] == "class"
    scores = [hit["score"] for hit in order_hits]
    assert scores == sorted(scores, reverse=True) and len(order_hits) > 5
    assert (await _search(browser, project_id, "api client"))[0]["name"] == "ApiClient"
    assert (await _search(browser, project_id, "ApiClient"))[0]["name"] == "ApiClient"
    assert (await _search(browser, project_id, "place_order"))[0]["name"] == "place_order"
    counted = await _search(browser, project_id, "how many orders")
    assert counted[0]["name"] == "Store.Count"
    assert await _search(browser, project_id, "zebra") == []
    assert await _search(browser, project_id, "%_") == []

    changed = {k: v for k, v in TREE.items() if not k.startswith("src/")}
    changed["src/billing/invoice.py"] = b'class Invoice:\n    """A bill."""\n'
    await snapshot(browser, project_id, changed)
    again = await _index(browser, project_id)
    after = Graph(await _atlas(browser, project_id))
    assert len(after.concepts) == again["concepts_created"]
    assert "Order" not in after.names("class") and "Invoice" in after.names("class")
    assert "src/shop" not in after.names("system") and "src/billing" in after.names("system")
    assert not set(before.by_id) & set(after.by_id)
    hits = await _search(browser, project_id, "order")
    assert hits[0]["name"] == "Order" and hits[0]["path"] == "web/src/types.ts"
    assert not any((hit["path"] or "").startswith("src/shop") for hit in hits)
    assert (await _search(browser, project_id, "invoice"))[0]["name"] == "Invoice"

    resources: Resources = app.state.resources
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(resources.settings, "atlas_max_files", 2)
        limited = await _index(browser, project_id)
        assert limited["files_parsed"] == 2
        assert {s["reason"] for s in limited["files_skipped"]} == {"over 2 files"}
        patch.setattr(resources.settings, "atlas_max_files", 100)
        patch.setattr(resources.settings, "atlas_max_total_bytes", len(MAIN_GO))
        limited = await _index(browser, project_id)
        assert limited["files_parsed"] == 1  # cmd/server/main.go comes first by path
        reasons = {s["reason"] for s in limited["files_skipped"]}
        assert reasons == {f"over {len(MAIN_GO)} bytes in all"}

    outsider, _ = await browser_for(app)
    url = f"{PROJECTS}/{project_id}/atlas"
    assert_error(await outsider.get(url), 404, "RESOURCE_NOT_FOUND")
    assert_error(await outsider.post(f"{url}/index"), 404, "RESOURCE_NOT_FOUND")
    assert_error(
        await outsider.post(f"{url}/search", json={"query": "order"}), 404, "RESOURCE_NOT_FOUND"
    )
    assert_error(await outsider.get(f"{url}/diagrams"), 404, "RESOURCE_NOT_FOUND")
    assert_error(await browser.post(f"{url}/search", json={"query": ""}), 422, "VALIDATION_ERROR")


async def test_diagrams_are_built_from_the_graph_and_stored(
    app: FastAPI, browser: AsyncClient
) -> None:
    project_id = await new_project(browser, "Shop")
    url = f"{PROJECTS}/{project_id}/atlas/diagrams"
    assert_error(await browser.post(url, json={"type": "flow"}), 400, "BAD_REQUEST")
    await snapshot(browser, project_id, TREE)
    await _index(browser, project_id)
    graph = Graph(await _atlas(browser, project_id))

    dependency = await browser.post(url, json={"type": "dependency"})
    assert dependency.status_code == 201, dependency.text
    diagram = dependency.json()["diagram"]
    assert diagram["title"] == "Dependency diagram of Shop" and diagram["concept_id"] is None
    labels = {n["id"]: n["label"] for n in diagram["nodes"]}
    pairs = {(labels[e["source"]], labels[e["target"]]): e["label"] for e in diagram["edges"]}
    assert pairs[("cmd/server", "internal/store")] == "1 import"
    assert pairs[("web", "react")] == "1 import" and ("src/shop", "sqlalchemy") in pairs
    assert diagram["mermaid"].startswith("flowchart LR\n")
    assert '[("react")]' in diagram["mermaid"] and '[["web"]]' in diagram["mermaid"]

    index_module = graph.find("module", "web/src/index.tsx")
    sequence = await browser.post(url, json={"type": "sequence", "concept_id": index_module["id"]})
    assert sequence.status_code == 201, sequence.text
    seq = sequence.json()["diagram"]
    assert [n["label"] for n in seq["nodes"]] == [
        "web/src/index.tsx",
        "web/src/api/client.ts",
        "web/src/lib/format.ts",
        "web/src/types.ts",
    ]
    mermaid = seq["mermaid"].splitlines()
    assert mermaid[0] == "sequenceDiagram"
    assert "  n0->>n1: createClient" in mermaid and "  n1->>n3: Order" in mermaid

    system = graph.find("system", "web")
    component = await browser.post(url, json={"type": "component", "concept_id": system["id"]})
    nodes = component.json()["diagram"]["nodes"]
    assert {n["label"] for n in nodes} == {
        c["name"] for c in graph.concepts if c["layer"] == "module" and c["path"].startswith("web/")
    }
    assert 'subgraph g0["web"]' in component.json()["diagram"]["mermaid"]
    flow = await browser.post(url, json={"type": "flow"})
    flow_labels = {n["label"] for n in flow.json()["diagram"]["nodes"]}
    assert {"cmd/server/main.go", "internal/store/store.go", "web/src/types.ts"} <= flow_labels

    assert_error(
        await browser.post(url, json={"type": "flow", "concept_id": project_id}),
        404,
        "RESOURCE_NOT_FOUND",
    )
    assert_error(await browser.post(url, json={"type": "class"}), 422, "VALIDATION_ERROR")
    listed = (await browser.get(url)).json()
    assert listed["pagination"]["total"] == 4
    assert listed["data"][0]["type"] == "flow" and listed["data"][-1]["type"] == "dependency"

    await _index(browser, project_id)  # the stored diagrams stay, detached from old concepts
    kept = (await browser.get(url)).json()["data"]
    assert len(kept) == 4 and all(d["concept_id"] is None for d in kept)

    viewer, user = await browser_for(app)
    await add_member(browser, project_id, viewer, user["email"], "viewer")
    assert (await viewer.get(url)).json()["pagination"]["total"] == 4
    assert (await _search(viewer, project_id, "order"))[0]["name"] == "Order"
    assert_error(await viewer.post(url, json={"type": "flow"}), 403, "FORBIDDEN")
    assert_error(await viewer.post(f"{PROJECTS}/{project_id}/atlas/index"), 403, "FORBIDDEN")


async def test_decisions_link_to_the_atlas_concepts_they_name(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    project_id = await new_project(browser, "Shop")
    await snapshot(browser, project_id, TREE)
    await _index(browser, project_id)
    await create_fake_provider(browser, fake_llm)
    created = await browser.post("/api/v1/conversations", json={"project_id": project_id})
    cid = created.json()["id"]
    sent = await browser.post(
        f"/api/v1/conversations/{cid}/messages", json={"content": "ApiClient stays on axios"}
    )
    message_id = sent.json()["user_message"]["id"]
    answer = {
        "decisions": [
            {
                "title": "Keep ApiClient on axios",
                "rationale": "Store.Count is enough for the dashboard",
                "message_ids": [message_id],
            }
        ]
    }
    fake_llm.queue_reply(json.dumps(answer))
    assert (await browser.post(f"{PROJECTS}/{project_id}/decisions/extract")).status_code == 200
    listed = await browser.get(
        f"{PROJECTS}/{project_id}/decisions", params={"include_links": "true"}
    )
    [decision] = listed.json()["data"]
    assert decision["message_ids"] == [message_id]
    linked = {(c["layer"], c["name"]) for c in decision["linked_concepts"]}
    assert linked == {("class", "ApiClient"), ("external", "axios"), ("function", "Store.Count")}

    # generating next steps sends the atlas summary with the brief
    fake_llm.queue_reply(json.dumps({"next_steps": []}))
    generated = await browser.post(f"{PROJECTS}/{project_id}/next-steps/generate")
    assert generated.json() == {"next_steps": [], "generated_count": 0}
    prompt = fake_llm.completions()[-1].messages[-1]["content"]
    context = json.loads(prompt.split("\n", 1)[1])
    assert context["code_structure"]["systems"] == [
        "cmd/server",
        "internal/store",
        "src/shop",
        "web",
    ]
    assert {"go", "python", "javascript", "typescript"} == set(
        context["code_structure"]["languages"]
    )
    assert "ApiClient" in {c["name"] for c in context["code_structure"]["main_concepts"]}
    assert context["decisions"] == [
        {"title": "Keep ApiClient on axios", "rationale": "Store.Count is enough for the dashboard"}
    ]


async def test_index_reads_this_projects_own_python_source(
    browser: AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real Python: the atlas's and project knowledge's own packages, at their real paths."""
    monkeypatch.setattr(resources.settings, "atlas_max_file_bytes", 512 * 1024)
    folders = [ROOT / "src/orbiter/atlas", ROOT / "src/orbiter/project_knowledge"]
    tree = {
        str(path.relative_to(ROOT)): path.read_bytes()
        for folder in folders
        for path in sorted(folder.rglob("*.py"))
    }
    tree["src/orbiter/__init__.py"] = (ROOT / "src/orbiter/__init__.py").read_bytes()
    project_id = await new_project(browser, "Orbiter")
    await snapshot(browser, project_id, tree)
    result = await _index(browser, project_id)
    assert result["files_parsed"] == len(tree) and result["parse_errors"] == []
    graph = Graph(await _atlas(browser, project_id))
    assert graph.names("system") == {"src/orbiter"}
    assert graph.names("class") >= {"Resolver", "Graph", "External", "ParsedModule", "Loaded"}
    assert graph.names("function") >= {"build_graph", "parse_source", "Resolver.resolve"}
    assert graph.imports("src/orbiter/atlas/indexing.py")["src/orbiter/atlas/builder.py"] == (
        "Graph, build_graph"
    )
    parsers = graph.imports("src/orbiter/atlas/parsers/__init__.py")
    assert parsers["src/orbiter/atlas/parsers/go.py"] == "parse_go"
    router = graph.imports("src/orbiter/project_knowledge/router.py")
    assert router["src/orbiter/project_knowledge/brief.py"] == "brief, decisions, next_steps"
    assert {"fastapi", "sqlalchemy", "tree_sitter"} <= graph.names("external")
