"""Go projects: go.mod (module, Go version, frameworks, drivers) and the `main` package."""

from __future__ import annotations

import re
from collections.abc import Mapping

from orbiter.infrastructure.detect import clients
from orbiter.infrastructure.detect.model import Detection, Source

FRAMEWORKS = (
    ("github.com/gin-gonic/gin", "gin"),
    ("github.com/labstack/echo", "echo"),
    ("github.com/gofiber/fiber", "fiber"),
    ("github.com/go-chi/chi", "chi"),
    ("github.com/gorilla/mux", "gorilla"),
)
HEALTH_ROUTE = re.compile(
    r"""(?:HandleFunc|Handle|GET|Get)\(\s*"((?:GET )?/[\w/-]*health[\w/-]*)\""""
)
LISTEN = re.compile(r"""ListenAndServe\(\s*"[\w.]*:(\d{2,5})\"""")


def detect_go(files: Mapping[str, bytes], detection: Detection) -> bool:
    if "go.mod" not in files:
        return False
    source = Source.of("go.mod", files["go.mod"])
    plan = detection.plan
    plan.runtime = "go"
    detection.add("runtime", "go", source, source.line_of(r"^module\s"))
    if found := source.find(r"^go\s+([\d.]+)"):
        plan.runtime_version = found[1].group(1)
        detection.add("engine", f"go {plan.runtime_version}", source, found[0])
    for module, framework in FRAMEWORKS:
        if found := source.find(re.escape(module)):
            plan.framework = framework
            detection.add("framework", framework, source, found[0])
            break
    for module, resource in clients.GO.items():
        if found := source.find(re.escape(module)):
            detection.add(clients.kind_of(resource), resource, source, found[0])
    plan.install_command = "go mod download"
    _main_package(files, detection)
    return True


def _main_package(files: Mapping[str, bytes], detection: Detection) -> None:
    plan = detection.plan
    mains = sorted(
        (p for p in files if p.endswith(".go") and b"package main" in files[p]),
        key=lambda p: (p.count("/"), p),
    )
    if not mains:
        return
    folder = mains[0].rpartition("/")[0]
    plan.build_command = f"go build -o app ./{folder}" if folder else "go build -o app ."
    plan.start_command = "./app"
    for path in (p for p in mains if p.rpartition("/")[0] == folder):
        source = Source.of(path, files[path])
        if plan.framework is None and (found := source.find(r"http\.ListenAndServe\(")):
            plan.framework = "net/http"
            detection.add("framework", "net/http", source, found[0])
        if found := source.find(HEALTH_ROUTE):
            plan.health_path = found[1].group(1).removeprefix("GET ")
            detection.add("health", plan.health_path, source, found[0])
        if found := source.find(r"""os\.Getenv\(\s*"PORT"\s*\)"""):
            detection.add("port", "$PORT", source, found[0])
        elif found := source.find(LISTEN):
            plan.port = int(found[1].group(1))
            detection.add("port", str(plan.port), source, found[0])
