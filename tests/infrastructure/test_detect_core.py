"""Detection over project trees shaped like real ones: the plan a deploy follows, the
resources each needs, and the evidence (file and line) of every finding."""

from __future__ import annotations

from orbiter.infrastructure.detect import ProjectDetection, detect_project
from tests.infrastructure import trees


def evidence(found: ProjectDetection, kind: str, value: str) -> tuple[str, int, str]:
    """The first finding's evidence: file, line and the line's text."""
    finding = next(f for f in found.findings if f.kind == kind and f.value == value)
    return finding.evidence.file, finding.evidence.line, finding.evidence.text


def test_nextjs() -> None:
    found = detect_project(trees.as_bytes(trees.NEXTJS))
    plan = found.plan
    assert (plan.runtime, plan.framework, plan.runtime_version) == ("node", "nextjs", ">=20")
    assert plan.install_command == "npm ci"
    assert (plan.build_command, plan.start_command) == ("npm run build", "npm run start")
    assert plan.health_path == "/api/health"
    assert found.databases == ["postgresql"] and found.caches == ["redis"]
    assert evidence(found, "framework", "nextjs") == ("package.json", 10, '"next": "15.0.3",')
    assert evidence(found, "database", "postgresql")[:2] == ("package.json", 13)
    assert evidence(found, "env", "REDIS_URL")[:2] == (".env.example", 3)
    assert plan.env_vars == ["DATABASE_URL", "REDIS_URL", "NEXT_PUBLIC_SITE_NAME"]
    [pg, redis] = found.suggested_resources
    assert (pg.type, pg.env_var, redis.type, redis.env_var) == (
        "postgresql",
        "DATABASE_URL",
        "redis",
        "REDIS_URL",
    )
    assert {(e.file, e.line) for e in pg.evidence} == {("package.json", 13), (".env.example", 2)}


def test_fastapi() -> None:
    found = detect_project(trees.as_bytes(trees.FASTAPI))
    plan = found.plan
    assert (plan.runtime, plan.framework) == ("python", "fastapi")
    assert plan.install_command == "pip install -r requirements.txt"
    assert plan.start_command == "python -m uvicorn app.main:app --host 127.0.0.1 --port $PORT"
    assert plan.health_path == "/healthz"
    assert evidence(found, "entry", "app.main:app") == (
        "app/main.py",
        3,
        "app = FastAPI(title='notes')",
    )
    assert evidence(found, "framework", "fastapi") == ("requirements.txt", 1, "fastapi==0.115.5")
    assert evidence(found, "database", "postgresql")[:2] == ("requirements.txt", 3)
    assert evidence(found, "cache", "redis")[:2] == ("requirements.txt", 4)
    assert evidence(found, "health", "/healthz")[:2] == ("app/main.py", 6)


def test_django() -> None:
    found = detect_project(trees.as_bytes(trees.DJANGO))
    plan = found.plan
    assert (plan.runtime, plan.framework) == ("python", "django")
    assert plan.start_command == "gunicorn --bind 127.0.0.1:$PORT blog.wsgi:application"
    assert plan.health_path == "/health/"
    assert evidence(found, "entry", "blog.wsgi:application")[:2] == ("manage.py", 7)
    assert found.databases == ["postgresql"]
    assert {(f.evidence.file, f.evidence.line) for f in found.findings if f.kind == "database"} == {
        ("requirements.txt", 3),
        ("blog/settings.py", 4),
    }


def test_flask_with_a_procfile() -> None:
    found = detect_project(trees.as_bytes(trees.FLASK))
    plan = found.plan
    assert (plan.runtime, plan.framework, plan.runtime_version) == ("python", "flask", ">=3.11")
    assert plan.install_command == "pip install ."
    assert plan.start_command == "flask --app todo run --host 127.0.0.1 --port $PORT"
    assert evidence(found, "start", plan.start_command)[:2] == ("Procfile", 1)
    assert evidence(found, "entry", "todo:app")[:2] == ("todo.py", 3)
    assert evidence(found, "framework", "flask")[:2] == ("pyproject.toml", 6)
    assert evidence(found, "database", "mongodb")[:2] == ("pyproject.toml", 7)
    assert [s.type for s in found.suggested_resources] == ["mongodb"]


def test_flask_without_a_procfile_runs_with_flask_itself() -> None:
    tree = {k: v for k, v in trees.FLASK.items() if k != "Procfile"}
    plan = detect_project(trees.as_bytes(tree)).plan
    assert plan.start_command == "python -m flask --app todo:app run --host 127.0.0.1 --port $PORT"


def test_express() -> None:
    found = detect_project(trees.as_bytes(trees.EXPRESS))
    plan = found.plan
    assert (plan.runtime, plan.framework) == ("node", "express")
    assert plan.install_command == "yarn install --frozen-lockfile"
    assert (plan.build_command, plan.start_command) == (None, "node server.js")
    assert plan.health_path == "/api/health"
    assert evidence(found, "port", "$PORT")[:2] == ("server.js", 6)
    assert evidence(found, "database", "mysql")[:2] == ("package.json", 6)


def test_go_net_http() -> None:
    found = detect_project(trees.as_bytes(trees.GO_NET_HTTP))
    plan = found.plan
    assert (plan.runtime, plan.framework, plan.runtime_version) == ("go", "net/http", "1.22")
    assert (plan.build_command, plan.start_command) == ("go build -o app .", "./app")
    assert plan.health_path == "/health"
    assert evidence(found, "framework", "net/http")[:2] == ("main.go", 10)
    assert evidence(found, "database", "sqlite")[:2] == ("go.mod", 5)


def test_a_dockerfile_only_app() -> None:
    found = detect_project(trees.as_bytes(trees.DOCKERFILE_ONLY))
    plan = found.plan
    assert (plan.runtime, plan.framework) == ("docker", None)
    assert (plan.start_command, plan.port, plan.health_path) == ("/app --serve", 8080, "/ping")
    assert evidence(found, "runtime", "docker")[:2] == ("Dockerfile", 6)
    assert evidence(found, "port", "8080")[:2] == ("Dockerfile", 8)
    assert found.suggested_resources == []


def test_nothing_recognisable() -> None:
    found = detect_project({"README.md": b"# notes\n"})
    assert found.plan.runtime is None and found.findings == []
