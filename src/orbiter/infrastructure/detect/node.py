"""Node projects: package.json (framework, scripts, engines), the lock file, the entry file."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from orbiter.infrastructure.detect import clients
from orbiter.infrastructure.detect.model import Detection, Source

# First match wins: meta-frameworks before the servers they are built on.
FRAMEWORKS = (
    ("next", "nextjs"),
    ("nuxt", "nuxt"),
    ("@remix-run/node", "remix"),
    ("@sveltejs/kit", "sveltekit"),
    ("astro", "astro"),
    ("@nestjs/core", "nestjs"),
    ("fastify", "fastify"),
    ("koa", "koa"),
    ("hono", "hono"),
    ("express", "express"),
)
LOCK_FILES = (
    ("pnpm-lock.yaml", "pnpm install --frozen-lockfile", "pnpm run"),
    ("yarn.lock", "yarn install --frozen-lockfile", "yarn"),
    ("package-lock.json", "npm ci", "npm run"),
)
ENTRY_FILES = ("server.js", "index.js", "app.js", "main.js", "src/server.js", "src/index.js")
NEXT_HEALTH = ("app/api/health/route", "src/app/api/health/route", "pages/api/health")
HEALTH_ROUTE = re.compile(r"""\.(?:get|all|route)\(\s*['"`](/[\w/-]*health[\w/-]*)['"`]""")
LISTEN = re.compile(r"\.listen\(\s*(\d{2,5})\b")


def _package(files: Mapping[str, bytes], detection: Detection) -> dict[str, Any] | None:
    source = Source.of("package.json", files["package.json"])
    try:
        package = json.loads(source.text)
    except ValueError:
        detection.add("warning", "package.json is not valid JSON", source, 1)
        return None
    return package if isinstance(package, dict) else None


def _key_line(source: Source, key: str) -> int:
    return source.line_of(r'"' + re.escape(key) + r'"\s*:')


def detect_node(files: Mapping[str, bytes], detection: Detection) -> bool:
    if "package.json" not in files:
        return False
    package = _package(files, detection)
    if package is None:
        return False
    source = Source.of("package.json", files["package.json"])
    plan = detection.plan
    plan.runtime = "node"
    detection.add("runtime", "node", source, 1)
    deps = {**_dict(package.get("devDependencies")), **_dict(package.get("dependencies"))}
    for name, framework in FRAMEWORKS:
        if name in deps:
            plan.framework = framework
            detection.add("framework", framework, source, _key_line(source, name))
            break
    for name, resource in clients.NODE.items():
        if name in deps:
            detection.add(clients.kind_of(resource), resource, source, _key_line(source, name))
    node = _dict(package.get("engines")).get("node")
    if isinstance(node, str):
        plan.runtime_version = node
        detection.add("engine", f"node {node}", source, _key_line(source, "node"))
    _commands(files, package, source, detection)
    _entry(files, package, detection)
    return True


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _commands(
    files: Mapping[str, bytes], package: dict[str, Any], source: Source, detection: Detection
) -> None:
    plan = detection.plan
    install, run = "npm install", "npm run"
    for lock, lock_install, lock_run in LOCK_FILES:
        if lock in files:
            install, run = lock_install, lock_run
            detection.add("lockfile", lock, Source(lock, ""), 0)
            break
    plan.install_command = install
    scripts = _dict(package.get("scripts"))
    if isinstance(scripts.get("build"), str):
        plan.build_command = f"{run} build"
        detection.add("build", plan.build_command, source, _key_line(source, "build"))
    if isinstance(scripts.get("start"), str):
        plan.start_command = f"{run} start"
        detection.add("start", plan.start_command, source, _key_line(source, "start"))
    elif plan.framework == "nextjs":
        plan.start_command = "npx next start -p $PORT"


def _entry(files: Mapping[str, bytes], package: dict[str, Any], detection: Detection) -> None:
    plan = detection.plan
    if plan.framework == "nextjs":
        for stem in NEXT_HEALTH:
            for path in (f"{stem}.ts", f"{stem}.js"):
                if path in files:
                    plan.health_path = "/api/health"
                    detection.add("health", "/api/health", Source.of(path, files[path]), 1)
        return
    main = package.get("main")
    candidates = ([main] if isinstance(main, str) else []) + list(ENTRY_FILES)
    entry = next((c for c in candidates if c in files), None)
    if entry is None:
        return
    source = Source.of(entry, files[entry])
    detection.add("entry", entry, source, 1)
    if plan.start_command is None:
        plan.start_command = f"node {entry}"
    if found := source.find(HEALTH_ROUTE):
        plan.health_path = found[1].group(1)
        detection.add("health", plan.health_path, source, found[0])
    if found := source.find(r"process\.env\.PORT"):
        detection.add("port", "$PORT", source, found[0])
    elif found := source.find(LISTEN):
        plan.port = int(found[1].group(1))
        detection.add("port", str(plan.port), source, found[0])
