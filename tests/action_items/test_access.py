"""Nobody but the project's members learns that an action item exists, whatever credential
they use."""

from __future__ import annotations

import uuid

from httpx import AsyncClient

from tests.action_items.util import analysed, drifted, items, items_until
from tests.helpers import API, SignedInFactory, assert_error


async def test_a_second_user_sees_none_and_gets_404(
    browser: AsyncClient, signed_in: SignedInFactory
) -> None:
    scene = await drifted(browser)
    found = await items_until(browser, analysed, project_id=scene.project_id)
    other = await signed_in()
    for method, client in other.clients().items():  # cookie, API key, bearer token
        assert await items(client) == [], method
        listed = await client.get(f"{API}/action-items", params={"project_id": scene.project_id})
        assert_error(listed, 404, "RESOURCE_NOT_FOUND")
        for item in found:
            response = await client.post(f"{API}/action-items/{item['id']}/dismiss")
            assert_error(response, 404, "RESOURCE_NOT_FOUND")
    missing = await browser.post(f"{API}/action-items/{uuid.uuid4()}/dismiss")
    assert_error(missing, 404, "RESOURCE_NOT_FOUND")
    assert await items(browser, project_id=scene.project_id) == found  # nothing dismissed
