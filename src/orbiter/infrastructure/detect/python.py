"""Python projects: requirements.txt / pyproject.toml (framework, clients), the ASGI or WSGI
application object in the source, Django's settings."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from typing import Any

from orbiter.infrastructure.detect import clients
from orbiter.infrastructure.detect.model import Detection, Source

FRAMEWORKS = (
    ("django", "django"),
    ("fastapi", "fastapi"),
    ("litestar", "litestar"),
    ("starlette", "starlette"),
    ("flask", "flask"),
)
ASGI = frozenset({"fastapi", "litestar", "starlette"})
APP_OBJECT = {
    "fastapi": re.compile(r"^(\w+)\s*(?::\s*\w+\s*)?=\s*(?:fastapi\.)?FastAPI\("),
    "litestar": re.compile(r"^(\w+)\s*=\s*Litestar\("),
    "starlette": re.compile(r"^(\w+)\s*=\s*Starlette\("),
    "flask": re.compile(r"^(\w+)\s*=\s*(?:flask\.)?Flask\("),
}
NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
HEALTH_ROUTE = re.compile(r"""@\w+\.(?:get|route|api_route)\(\s*['"](/[\w/-]*health[\w/-]*)['"]""")
DJANGO_HEALTH = re.compile(r"""path\(\s*['"]((?:api/)?health[\w/-]*)['"]""")
DJANGO_SETTINGS = re.compile(r"""DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([\w.]+)\.settings['"]""")
DJANGO_ENGINE = re.compile(r"""['"]ENGINE['"]\s*:\s*['"]django\.db\.backends\.(\w+)['"]""")
BIND = "127.0.0.1"


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(files: Mapping[str, bytes]) -> dict[str, tuple[Source, int]]:
    found: dict[str, tuple[Source, int]] = {}
    if "requirements.txt" in files:
        source = Source.of("requirements.txt", files["requirements.txt"])
        for number, line in enumerate(source.lines, start=1):
            if line.strip().startswith(("#", "-")):
                continue
            if match := NAME.match(line):
                found.setdefault(normalize(match.group(1)), (source, number))
    return found


def _pyproject(
    files: Mapping[str, bytes], detection: Detection
) -> dict[str, tuple[Source, int]] | None:
    if "pyproject.toml" not in files:
        return None
    source = Source.of("pyproject.toml", files["pyproject.toml"])
    try:
        data = tomllib.loads(source.text)
    except tomllib.TOMLDecodeError:
        detection.add("warning", "pyproject.toml is not valid TOML", source, 1)
        return {}
    project = data.get("project") or {}
    names = [m.group(1) for d in project.get("dependencies") or [] if (m := NAME.match(str(d)))]
    poetry = (data.get("tool") or {}).get("poetry") or {}
    names += [n for n in (poetry.get("dependencies") or {}) if n.lower() != "python"]
    found: dict[str, tuple[Source, int]] = {}
    for name in names:
        pattern = r"""(^|['"\s])""" + re.escape(name) + r"""(\s*[\[=<>!~;'"]|\s*$)"""
        found.setdefault(normalize(name), (source, source.line_of(pattern)))
    version = project.get("requires-python") or (poetry.get("dependencies") or {}).get("python")
    if isinstance(version, str):
        detection.plan.runtime_version = version
        detection.add("engine", f"python {version}", source, source.line_of(re.escape(version)))
    return found


def detect_python(files: Mapping[str, bytes], detection: Detection) -> bool:
    pyproject = _pyproject(files, detection)
    deps = {**(pyproject or {}), **_requirements(files)}
    if pyproject is None and "requirements.txt" not in files and "manage.py" not in files:
        return False
    plan = detection.plan
    plan.runtime = "python"
    first = "requirements.txt" if "requirements.txt" in files else "pyproject.toml"
    detection.add("runtime", "python", Source.of(first, files.get(first, b"")), 1)
    plan.install_command = (
        "pip install -r requirements.txt" if "requirements.txt" in files else "pip install ."
    )
    for name, framework in FRAMEWORKS:
        if name in deps:
            plan.framework = framework
            detection.add("framework", framework, *deps[name])
            break
    for name, resource in clients.PYTHON.items():
        if name in deps:
            detection.add(clients.kind_of(resource), resource, *deps[name])
    if plan.framework == "django" or "manage.py" in files:
        plan.framework = "django"
        _django(files, detection, "gunicorn" in deps)
    elif plan.framework is not None:
        _app_object(files, detection, plan.framework, deps)
    _health(files, detection)
    return True


def _modules(files: Mapping[str, bytes]) -> list[str]:
    """Python files, shallowest first (`main.py` before `app/main.py`)."""
    paths = [p for p in files if p.endswith(".py")]
    return sorted(paths, key=lambda p: (p.count("/"), p))


def module_name(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _app_object(
    files: Mapping[str, bytes], detection: Detection, framework: str, deps: dict[str, Any]
) -> None:
    pattern = APP_OBJECT.get(framework)
    if pattern is None:
        return
    for path in _modules(files):
        source = Source.of(path, files[path])
        if found := source.find(pattern):
            entry = f"{module_name(path)}:{found[1].group(1)}"
            detection.add("entry", entry, source, found[0])
            detection.plan.start_command = _start(framework, entry, "gunicorn" in deps)
            return


def _start(framework: str, entry: str, has_gunicorn: bool) -> str:
    if framework in ASGI:
        return f"python -m uvicorn {entry} --host {BIND} --port $PORT"
    if has_gunicorn:
        return f"gunicorn --bind {BIND}:$PORT {entry}"
    module, _, app = entry.partition(":")
    return f"python -m flask --app {module}:{app} run --host {BIND} --port $PORT"


def _django(files: Mapping[str, bytes], detection: Detection, has_gunicorn: bool) -> None:
    plan = detection.plan
    project = None
    if "manage.py" in files:
        source = Source.of("manage.py", files["manage.py"])
        if found := source.find(DJANGO_SETTINGS):
            project = found[1].group(1)
            detection.add("entry", f"{project}.wsgi:application", source, found[0])
    if has_gunicorn and project:
        plan.start_command = f"gunicorn --bind {BIND}:$PORT {project}.wsgi:application"
    else:
        plan.start_command = f"python manage.py runserver {BIND}:$PORT --noreload"
    settings = f"{project.replace('.', '/')}/settings.py" if project else None
    if settings and settings in files:
        source = Source.of(settings, files[settings])
        if found := source.find(DJANGO_ENGINE):
            resource = clients.DJANGO_ENGINES.get(found[1].group(1))
            if resource:
                detection.add("database", resource, source, found[0])


def _health(files: Mapping[str, bytes], detection: Detection) -> None:
    for path in _modules(files):
        source = Source.of(path, files[path])
        pattern = DJANGO_HEALTH if path.endswith("urls.py") else HEALTH_ROUTE
        if found := source.find(pattern):
            route = found[1].group(1)
            detection.plan.health_path = route if route.startswith("/") else f"/{route}"
            detection.add("health", detection.plan.health_path, source, found[0])
            return
