"""Dockerfile, Procfile and `.env.example`: how the app says it runs, and what it reads."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from orbiter.infrastructure.detect import clients
from orbiter.infrastructure.detect.model import Detection, Source

ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
URL_SCHEMES = {
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "mysql": "mysql",
    "mongodb": "mongodb",
    "mongodb+srv": "mongodb",
    "redis": "redis",
    "rediss": "redis",
    "sqlite": "sqlite",
}
HEALTHCHECK_PATH = re.compile(r"https?://[^/\s]+(/[^\s'\"|]*)")


def _command(argument: str) -> str:
    """A CMD/ENTRYPOINT argument: the exec form (a JSON list) joined, or the shell form."""
    try:
        parts = json.loads(argument)
    except ValueError:
        return argument.strip()
    return " ".join(str(p) for p in parts) if isinstance(parts, list) else argument.strip()


def detect_dockerfile(files: Mapping[str, bytes], detection: Detection, *, alone: bool) -> None:
    """Read the Dockerfile; `alone`: no other runtime was found, so the image is the app."""
    if "Dockerfile" not in files:
        return
    source = Source.of("Dockerfile", files["Dockerfile"])
    plan = detection.plan
    base = source.find_all(r"(?i)^\s*FROM\s+(\S+)")
    if base:
        detection.add("dockerfile", f"FROM {base[-1][1].group(1)}", source, base[-1][0])
    if not alone:
        return
    plan.runtime = "docker"
    detection.add("runtime", "docker", source, base[-1][0] if base else 1)
    plan.build_command = "docker build -t app ."
    starts = source.find_all(r"(?i)^\s*(?:CMD|ENTRYPOINT)\s+(.+)$")
    if starts:
        number, match = starts[-1]
        plan.start_command = _command(match.group(1))
        detection.add("start", plan.start_command, source, number)
    if found := source.find(r"(?i)^\s*EXPOSE\s+(\d{2,5})"):
        plan.port = int(found[1].group(1))
        detection.add("port", str(plan.port), source, found[0])
    found = source.find(r"(?i)^\s*HEALTHCHECK\b.*")
    if found and (path := HEALTHCHECK_PATH.search(found[1].group(0))):
        plan.health_path = path.group(1)
        detection.add("health", plan.health_path, source, found[0])


def detect_procfile(files: Mapping[str, bytes], detection: Detection) -> None:
    if "Procfile" not in files:
        return
    source = Source.of("Procfile", files["Procfile"])
    if found := source.find(r"^web:\s*(.+)$"):
        detection.plan.start_command = found[1].group(1).strip()
        detection.add("start", detection.plan.start_command, source, found[0])


def detect_env_example(files: Mapping[str, bytes], detection: Detection) -> None:
    path = next((p for p in (".env.example", ".env.sample", ".env.template") if p in files), None)
    if path is None:
        return
    source = Source.of(path, files[path])
    for number, line in enumerate(source.lines, start=1):
        match = ENV_LINE.match(line)
        if not match or line.lstrip().startswith("#"):
            continue
        name, value = match.group(1), match.group(2).strip().strip("'\"")
        detection.add("env", name, source, number)
        detection.plan.env_vars.append(name)
        scheme = value.partition("://")[0].lower() if "://" in value else ""
        if resource := URL_SCHEMES.get(scheme):
            detection.add(clients.kind_of(resource), resource, source, number)
