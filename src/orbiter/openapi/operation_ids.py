"""Operation ids `{tag}-{action}`: short, unique, and the names generated clients use."""

from __future__ import annotations

from fastapi.routing import APIRoute


def operation_id(route: APIRoute) -> str:
    """The route's tag, then its function's name without the tag's words, in kebab case.

    `list_projects` under `projects` is `projects-list`, `create_api_key` under `api-keys` is
    `api-keys-create`, `compare_drift` under `workspaces` is `workspaces-compare-drift`. Name a
    route's function after its action; tests/test_openapi.py checks that the ids are unique.
    """
    tag = str(route.tags[0]) if route.tags else "default"
    tag_words = {form for word in tag.split("-") for form in (word, word.removesuffix("s"))}
    action = [word for word in route.name.split("_") if word not in tag_words]
    return f"{tag}-{'-'.join(action or route.name.split('_'))}"
