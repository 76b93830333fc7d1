"""The interpreter templates a fragment may name, and which of them this host can run.

Each runs a helper script (orbiter/sandbox/scripts/) with the host's interpreter, bound
read-only into the sandbox: the code comes on stdin, the cell's result and error on the side
channel. Web templates (a server on a port, proxied by the API) are not offered.
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

    def argv(self, settings: Settings) -> list[str]:
        return [self.interpreter(settings), f"{SCRIPTS}/{self.script}"]


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
