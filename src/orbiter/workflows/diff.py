"""What changed between two canvases, node by node and edge by edge (matched by id)."""

from __future__ import annotations

import json
from typing import Any

from orbiter.workflows.schemas import ElementChange, ElementsDiff, FieldChange


def diff_elements(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> ElementsDiff:
    """Nodes (or edges) added, removed and changed; added and changed in `after`'s order,
    removed in `before`'s."""
    old = {str(element.get("id")): element for element in before}
    new = {str(element.get("id")): element for element in after}
    changed = []
    for element_id, element in new.items():
        if element_id in old and (changes := field_changes(old[element_id], element)):
            changed.append(ElementChange(id=element_id, changes=changes))
    return ElementsDiff(
        added=[element for element_id, element in new.items() if element_id not in old],
        removed=[element for element_id, element in old.items() if element_id not in new],
        changed=changed,
    )


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
    """The keys whose value differs: each key of `data` on its own (`data.template`), every
    other top-level key as a whole (`position`, `sourceHandle`...)."""
    old, new = _fields(before), _fields(after)
    return [
        FieldChange(field=name, before=old.get(name), after=new.get(name))
        for name in sorted(old.keys() | new.keys())
        if name not in old or name not in new or not _same(old[name], new[name])
    ]


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON (`1` and `true`, equal in Python, are not)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _fields(element: dict[str, Any]) -> dict[str, Any]:
    fields = {key: value for key, value in element.items() if key not in ("id", "data")}
    data = element.get("data")
    if isinstance(data, dict):
        fields |= {f"data.{key}": value for key, value in data.items()}
    elif "data" in element:
        fields["data"] = data
    return fields
