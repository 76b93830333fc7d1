"""The templates a fragment may name, and which of them this host can run.

Interpreter templates run a helper script (orbiter/sandbox/scripts/) with the host's
interpreter, bound read-only into the sandbox: the code comes on stdin, the cell's result and
error on the side channel. Web templates save the code as a file (`file_path`, else
`default_file`) and run it with the interpreter as a server that must listen on the
fragment's `port` (else `default_port`; also in `$PORT`) on the sandbox's loopback; the API
proxies to it (web.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from orbiter.core.errors import ValidationFailed
from orbiter.core.settings import Settings
from orbiter.sandbox import SCRIPTS, SandboxRunner


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    interpreter: Callable[[Settings], str]
    script: str
    install: Callable[[Settings, list[str]], list[str]] | None  # argv installing dependencies
    default_port: int | None = None  # set for web templates
    default_file: str = ""

    @property
    def kind(self) -> str:
        return "web" if self.default_port else "interpreter"

    def argv(self, settings: Settings) -> list[str]:
        return [self.interpreter(settings), f"{SCRIPTS}/{self.script}"]

    def server_argv(self, settings: Settings, file: str) -> list[str]:
        return [self.interpreter(settings), file]


def _pip(settings: Settings, packages: list[str]) -> list[str]:
    return [settings.sandbox_python, "-m", "pip", "install", "--user", "--", *packages]


def _npm(settings: Settings, packages: list[str]) -> list[str]:
    return ["npm", "install", "--no-audit", "--no-fund", "--", *packages]


TEMPLATES = {
    t.name: t
    for t in (
        Template("code-interpreter-v1", "python", lambda s: s.sandbox_python, "cell.py", _pip),
        Template("node-interpreter-v1", "javascript", lambda s: s.sandbox_node, "cell.js", _npm),
        Template("bash-interpreter-v1", "bash", lambda s: s.sandbox_bash, "cell.sh", None),
        Template("python-web-v1", "python", lambda s: s.sandbox_python, "", _pip, 8000, "app.py"),
        Template(
            "node-web-v1", "javascript", lambda s: s.sandbox_node, "", _npm, 3000, "server.js"
        ),
    )
}


def runnable(settings: Settings, runner: SandboxRunner) -> list[Template]:
    """The templates whose interpreter this host has."""
    return [t for t in TEMPLATES.values() if runner.has_program(t.interpreter(settings))]


def require_template(name: str, settings: Settings, runner: SandboxRunner) -> Template:
    template = TEMPLATES.get(name)
    if template is None or not runner.has_program(template.interpreter(settings)):
        offered = ", ".join(t.name for t in runnable(settings, runner)) or "none"
        raise ValidationFailed.for_field(
            "fragment.template",
            f"This host cannot run template {name!r}; it runs: {offered}",
            "unsupported_template",
        )
    return template
