"""Where an import points: a module of the same tree, or an external package.

Python: dotted names of every `.py` file, also without leading source-root folders (a folder
without `__init__.py`, such as `src/`); relative imports from the importing package.
JavaScript/TypeScript: relative specifiers resolved like Node and TypeScript do (extension
and `/index` candidates; a `.js` specifier may name a `.ts` file); bare specifiers are
packages (`@scope/name` or the first segment; `node:` built-ins by their name).
Go: paths under a `go.mod`'s module path are that module's package directories.
"""

from __future__ import annotations

import posixpath
import re
import sys
from dataclasses import dataclass, field

from orbiter.atlas.parsers import ImportRef

JS_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
_GO_MODULE = re.compile(rb"^\s*module\s+(\S+)", re.MULTILINE)
MAX_GO_PACKAGE_FILES = 50


@dataclass(frozen=True)
class External:
    name: str
    ecosystem: str  # "python", "npm" or "go"
    description: str


@dataclass
class Resolver:
    paths: set[str]  # every parsed source file
    python_names: dict[str, str] = field(default_factory=dict)  # dotted name → path
    go_modules: dict[str, str] = field(default_factory=dict)  # module path → go.mod's folder

    @classmethod
    def build(cls, paths: set[str], go_mods: dict[str, bytes]) -> Resolver:
        resolver = cls(paths)
        for path in sorted(paths):
            if path.endswith((".py", ".pyi")):
                for name in _python_names(path, paths):
                    resolver.python_names.setdefault(name, path)
        for path, data in go_mods.items():
            found = _GO_MODULE.search(data)
            if found:
                folder = posixpath.dirname(path)
                resolver.go_modules[found.group(1).decode("utf-8", "replace")] = folder
        return resolver

    def resolve(self, path: str, language: str, ref: ImportRef) -> list[str] | External | None:
        """The files `ref` (in `path`) imports, or the external package, or None."""
        if not ref.target:
            return None
        if language == "python":
            return self._python(path, ref)
        if language == "go":
            return self._go(ref.target)
        return self._javascript(path, ref.target)

    def _python(self, path: str, ref: ImportRef) -> list[str] | External | None:
        target = ref.target
        if target.startswith("."):
            level = len(target) - len(target.lstrip("."))
            package = _dotted(path)
            if not path.endswith(("__init__.py", "__init__.pyi")):
                package = package.rpartition(".")[0]
            for _ in range(level - 1):
                package = package.rpartition(".")[0]
            rest = target[level:]
            target = ".".join(part for part in (package, rest) if part)
            found = self._python_module(target, ref.names, self._full_names())
            return [found] if found else None
        found = self._python_module(target, ref.names, self.python_names)
        if found:
            return [found]
        top = target.split(".", 1)[0]
        stdlib = top in sys.stdlib_module_names
        return External(top, "python", "Python standard library" if stdlib else "Python package")

    def _full_names(self) -> dict[str, str]:
        return {_dotted(p): p for p in self.paths if p.endswith((".py", ".pyi"))}

    @staticmethod
    def _python_module(target: str, names: tuple[str, ...], known: dict[str, str]) -> str | None:
        for name in names:  # `from package import module`
            if f"{target}.{name}" in known:
                return known[f"{target}.{name}"]
        return known.get(target)

    def _javascript(self, path: str, spec: str) -> list[str] | External | None:
        if spec.startswith((".", "/")):
            base = posixpath.normpath(posixpath.join(posixpath.dirname(path), spec)).lstrip("/")
            found = self._js_file(base)
            return [found] if found else None
        name = spec.removeprefix("node:")
        parts = name.split("/")
        package = "/".join(parts[:2]) if name.startswith("@") else parts[0]
        builtin = spec.startswith("node:")
        return External(package, "npm", "Node.js built-in" if builtin else "npm package")

    def _js_file(self, base: str) -> str | None:
        stem, extension = posixpath.splitext(base)
        candidates = [base, *(base + e for e in JS_EXTENSIONS)]
        candidates += [f"{base}/index{e}" for e in JS_EXTENSIONS]
        if extension in (".js", ".jsx", ".mjs", ".cjs"):
            candidates += [stem + e for e in JS_EXTENSIONS]
        return next((c for c in candidates if c in self.paths), None)

    def _go(self, target: str) -> list[str] | External:
        for module, folder in self.go_modules.items():
            if target == module or target.startswith(module + "/"):
                package = posixpath.join(folder, target[len(module) :].lstrip("/"))
                files = sorted(
                    p
                    for p in self.paths
                    if posixpath.dirname(p) == package.rstrip("/")
                    and p.endswith(".go")
                    and not p.endswith("_test.go")
                )
                if files:
                    return files[:MAX_GO_PACKAGE_FILES]
        standard = "." not in target.split("/", 1)[0]
        return External(target, "go", "Go standard library" if standard else "Go module")


def _dotted(path: str) -> str:
    stem = path.rsplit(".", 1)[0]
    if stem.endswith("/__init__") or stem == "__init__":
        stem = stem[: -len("__init__")].rstrip("/")
    return stem.replace("/", ".")


def _python_names(path: str, paths: set[str]) -> list[str]:
    """The file's dotted name, and the same without each leading folder that is not a
    package (no `__init__.py`): `src/app/db.py` is also `app.db`."""
    parts = _dotted(path).split(".")
    names = [".".join(parts)]
    for depth in range(1, len(parts)):
        folder = "/".join(parts[:depth])
        if f"{folder}/__init__.py" in paths:
            break
        names.append(".".join(parts[depth:]))
    return names
