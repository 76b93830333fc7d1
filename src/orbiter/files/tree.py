"""The nested tree `GET /files` answers, from a manifest's flat, sorted entries.

Directories come from `dir` entries and from the paths of the entries below them; each level
lists directories first, then files and symlinks, by name. The tree goes `MAX_DEPTH` levels
deep (what the files API writes); a directory at that depth whose manifest (uploaded by a CLI)
holds more below it is marked `truncated`.
"""

from __future__ import annotations

from orbiter.blobs.manifest import ManifestEntry
from orbiter.files.paths import MAX_DEPTH, ancestors, name_of, parent_of
from orbiter.files.schemas import TreeNode


def build_tree(entries: list[ManifestEntry]) -> list[TreeNode]:
    root: list[TreeNode] = []
    directories: dict[str, TreeNode] = {}

    def directory(path: str) -> TreeNode:
        node = directories.get(path)
        if node is None:
            node = TreeNode(name=name_of(path), path=path, isDirectory=True, children=[])
            directories[path] = node
            _children(parent_of(path)).append(node)
        return node

    def _children(path: str) -> list[TreeNode]:
        if not path:
            return root
        children = directory(path).children
        assert children is not None  # a directory's node always has a list
        return children

    for entry in entries:
        above = ancestors(entry.path)
        if len(above) >= MAX_DEPTH:
            directory(above[len(above) - MAX_DEPTH]).truncated = True
            continue
        for path in reversed(above):
            directory(path)
        if entry.type == "dir":
            directory(entry.path)
        else:
            _children(parent_of(entry.path)).append(
                TreeNode(
                    name=name_of(entry.path),
                    path=entry.path,
                    isDirectory=False,
                    size=entry.size,
                    hash=entry.hash,
                    type=entry.type,
                )
            )
    _sort(root)
    return root


def _sort(nodes: list[TreeNode]) -> None:
    levels = [nodes]
    while levels:
        level = levels.pop()
        level.sort(key=lambda node: (not node.isDirectory, node.name))
        levels.extend(node.children for node in level if node.children)
