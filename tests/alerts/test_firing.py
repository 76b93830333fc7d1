"""Alert rules fire and resolve: measured over their window at the evaluation's clock, one
event per transition, delivered as a signed webhook (checked with the `standardwebhooks`
package, an independent implementation of the specification), an email or a project event."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from orbiter.alerts.deliveries import resend_due
from orbiter.core.db import transaction
from orbiter.core.request_stats import RequestStats
from orbiter.models import AlertRule
from orbiter.runtime.resources import Resources
from tests.alerts.receivers import Mailbox, Receiver
from tests.alerts.util import create_rule, evaluate, fail_runs, listed
from tests.helpers import API, SignedInFactory, iso_time
from tests.monitoring.test_costs import GPT_A, GPT_B
from tests.monitoring.util import played
from tests.runs.util import personal_project

pytestmark = pytest.mark.usefixtures("run_worker")


async def test_a_rule_on_failed_runs_fires_once_sends_a_signed_webhook_and_resolves(
    signed_in: SignedInFactory, resources: Resources, hook: Receiver
) -> None:
    owner = await signed_in()
    rule = await create_rule(owner.browser, action_type="webhook", action_config={"url": hook.url})
    secret = rule["webhook_secret"]
    assert secret.startswith("whsec_")
    async with transaction(resources.sessionmaker) as db:
        sealed = await db.scalar(select(AlertRule.secret_encrypted))
    assert sealed is not None and sealed.startswith("v1.")  # encrypted at rest
    assert secret not in sealed and secret[6:20] not in sealed
    await fail_runs(resources, owner, 1)
    assert (await evaluate(resources)).fired == 0  # 1 failed run: below the threshold of 2
    await fail_runs(resources, owner, 1)

    assert (await evaluate(resources)).fired == 1
    [request] = await hook.wait_for(1)
    payload = Webhook(secret).verify(request.body, request.headers)  # raises when not signed
    assert payload["type"] == "alert.fired"
    assert payload["data"]["rule"]["id"] == rule["id"]
    assert payload["data"]["rule"]["name"] == "Runs failing"
    assert payload["data"]["event"]["measure"] == 2
    assert payload["data"]["event"]["severity"] == "critical"
    with pytest.raises(Exception, match="signature"):
        Webhook(secret).verify(request.body.replace(b"2", b"3"), request.headers)

    events = await listed(owner.api, f"/alerts/{rule['id']}/events")
    assert [(e["kind"], e["severity"], e["measure"], e["acknowledged"]) for e in events] == [
        ("fired", "critical", 2, False)
    ]
    assert payload["data"]["event"]["id"] == events[0]["id"]
    current = (await owner.api.get(f"{API}/alerts/{rule['id']}")).json()
    assert (current["state"], current["last_measure"]) == ("firing", 2)

    again = await evaluate(resources)  # still firing: nothing new
    assert (again.rules, again.fired, again.resolved) == (1, 0, 0)
    await asyncio.sleep(0.05)
    assert len(hook.requests) == 1
    assert len(await listed(owner.api, f"/alerts/{rule['id']}/events")) == 1

    later = datetime.now(UTC) + timedelta(minutes=11)  # the failures left the 10-minute window
    assert (await evaluate(resources, now=later)).resolved == 1
    [_, resolved] = await hook.wait_for(2)
    body = Webhook(secret).verify(resolved.body, resolved.headers)
    assert (body["type"], body["data"]["event"]["measure"]) == ("alert.resolved", 0)
    assert resolved.headers["webhook-id"] != request.headers["webhook-id"]
    events = await listed(owner.api, f"/alerts/{rule['id']}/events")
    assert [(e["kind"], e["severity"]) for e in events] == [
        ("resolved", "info"),
        ("fired", "critical"),
    ]
    deliveries = await listed(owner.api, f"/alerts/{rule['id']}/deliveries")
    assert [(d["status"], d["response_code"], d["attempt"]) for d in deliveries] == [
        ("succeeded", 200, 1),
        ("succeeded", 200, 1),
    ]


async def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(
    signed_in: SignedInFactory,
    resources: Resources,
    hook: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resources.settings, "alert_delivery_backoff_seconds", 0.2)
    owner = await signed_in()
    hook.statuses = [500, 503]
    rule = await create_rule(
        owner.browser,
        condition_threshold=1,
        action_type="webhook",
        action_config={"url": hook.url},
    )
    await fail_runs(resources, owner, 1)
    await evaluate(resources)

    async def three_attempts() -> None:
        while len(hook.requests) < 3:
            await resend_due(resources)  # the periodic `alerts.redeliver`, called sooner
            await asyncio.sleep(0.05)

    await asyncio.wait_for(three_attempts(), 10)
    assert len({r.headers["webhook-id"] for r in hook.requests}) == 1  # one message, retried
    for request in hook.requests:
        Webhook(rule["webhook_secret"]).verify(request.body, request.headers)

    async def delivered() -> dict[str, object]:
        while True:
            [event] = await listed(owner.api, f"/alerts/{rule['id']}/events")
            if event["delivery_status"] != "pending":
                return event
            await asyncio.sleep(0.05)

    event = await asyncio.wait_for(delivered(), 5)
    assert (event["delivery_status"], event["delivery_attempts"]) == ("delivered", 3)
    deliveries = await listed(owner.api, f"/alerts/{rule['id']}/deliveries")
    assert [(d["attempt"], d["status"], d["response_code"]) for d in deliveries] == [
        (3, "succeeded", 200),
        (2, "failed", 503),
        (1, "failed", 500),
    ]
    assert deliveries[2]["error"] == "The receiver answered 500"
    at = [iso_time(d["created_at"]) for d in reversed(deliveries)]
    assert at[1] - at[0] >= timedelta(seconds=0.2)  # the backoff, doubled after each failure
    assert at[2] - at[1] >= timedelta(seconds=0.4)
    await asyncio.sleep(0.05)
    assert len(hook.requests) == 3


async def test_the_webhook_address_is_checked_again_at_delivery(
    signed_in: SignedInFactory,
    resources: Resources,
    hook: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resources.settings, "alert_delivery_max_attempts", 1)
    owner = await signed_in()
    rule = await create_rule(
        owner.browser, condition_threshold=1, action_type="webhook", action_config={"url": hook.url}
    )
    monkeypatch.setattr(resources.settings, "allow_private_urls", False)  # changed since
    await fail_runs(resources, owner, 1)
    await evaluate(resources)

    async def attempted() -> list[dict[str, object]]:
        while not (found := await listed(owner.api, f"/alerts/{rule['id']}/deliveries")):
            await asyncio.sleep(0.05)
        return found

    [attempt] = await asyncio.wait_for(attempted(), 5)
    assert (attempt["status"], attempt["response_code"]) == ("failed", None)
    assert "loopback" in str(attempt["error"])
    [event] = await listed(owner.api, f"/alerts/{rule['id']}/events")
    assert event["delivery_status"] == "failed"
    assert hook.requests == []


async def test_an_in_app_rule_records_project_events_and_can_be_acknowledged(
    signed_in: SignedInFactory, resources: Resources
) -> None:
    owner = await signed_in()
    rule = await create_rule(owner.browser, condition_threshold=1)
    off = await create_rule(owner.browser, condition_threshold=1, enabled=False)
    await fail_runs(resources, owner, 1)
    first = await evaluate(resources)
    assert (first.rules, first.fired) == (1, 1)  # a disabled rule is not evaluated
    await evaluate(resources, now=datetime.now(UTC) + timedelta(minutes=20))
    assert await listed(owner.api, f"/alerts/{off['id']}/events") == []

    project = await personal_project(owner)
    activity = await listed(owner.api, f"/projects/{project}/events?limit=100")
    alerts = [e for e in activity if e["type"].startswith("alert.")]
    assert sorted(e["type"] for e in alerts) == ["alert.fired", "alert.resolved"]
    assert {e["data"]["rule_id"] for e in alerts} == {rule["id"]}
    events = await listed(owner.api, f"/alerts/{rule['id']}/events")
    assert {e["delivery_status"] for e in events} == {"none"}

    fired = events[1]
    path = f"{API}/alerts/{rule['id']}/events/{fired['id']}/acknowledge"
    acked = await owner.browser.post(path)
    assert acked.status_code == 200, acked.text
    assert acked.json()["acknowledged"] is True
    assert acked.json()["acknowledged_by"] == owner.user["id"]
    again = await owner.api.post(path)
    assert again.json()["acknowledged_at"] == acked.json()["acknowledged_at"]
    listed_again = await listed(owner.api, f"/alerts/{rule['id']}/events")
    assert [e["acknowledged"] for e in listed_again] == [False, True]
    other = await owner.api.post(f"{API}/alerts/{rule['id']}/events/{rule['id']}/acknowledge")
    assert other.status_code == 404


async def test_an_email_rule_sends_mail_over_smtp(
    signed_in: SignedInFactory,
    resources: Resources,
    smtp: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    owner = await signed_in()
    body = {
        "name": "Mail me",
        "condition_type": "run_failures",
        "condition_threshold": 1,
        "window_minutes": 5,
        "action_type": "email",
        "action_config": {"to": ["oncall@example.com"]},
    }
    refused = await owner.browser.post(f"{API}/alerts", json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"]["fields"][0]["field"] == "action_type"
    assert "SMTP" in refused.json()["error"]["message"]

    for name, value in (("smtp_host", "127.0.0.1"), ("smtp_port", smtp.port)):
        monkeypatch.setattr(resources.settings, name, value)
    monkeypatch.setattr(resources.settings, "smtp_starttls", False)
    monkeypatch.setattr(resources.settings, "smtp_from", "alerts@orbiter.test")
    created = await owner.browser.post(f"{API}/alerts", json=body)
    assert created.status_code == 201, created.text
    rule = created.json()
    await fail_runs(resources, owner, 1)
    await evaluate(resources)

    async def mailed() -> None:
        while not smtp.messages:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(mailed(), 5)
    [message] = smtp.messages
    assert message["To"] == "oncall@example.com"
    assert message["From"] == "alerts@orbiter.test"
    assert message["Subject"] == "[Orbiter] Mail me fired"
    text = message.get_content()
    assert "failed runs over the last 5 min reached the threshold 1" in text
    assert rule["id"] in text

    async def recorded() -> list[dict[str, object]]:
        while not (found := await listed(owner.api, f"/alerts/{rule['id']}/deliveries")):
            await asyncio.sleep(0.02)
        return found

    [attempt] = await asyncio.wait_for(recorded(), 5)
    assert (attempt["channel"], attempt["status"], attempt["attempt"]) == ("email", "succeeded", 1)


async def test_error_rate_and_latency_come_from_the_request_counters(
    signed_in: SignedInFactory, resources: Resources
) -> None:
    owner = await signed_in()
    errors = await create_rule(
        owner.browser, condition_type="error_rate", condition_threshold=50, window_minutes=5
    )
    slow = await create_rule(
        owner.browser, condition_type="latency", condition_threshold=400, window_minutes=1
    )
    quiet = RequestStats()  # no requests yet: no measure, nothing fires
    assert (await evaluate(resources, stats=quiet)).fired == 0

    stats = RequestStats()
    for status, seconds in ((500, 0.3), (503, 0.3), (200, 0.3), (200, 0.001)):
        stats.record(status, seconds)
    assert (await evaluate(resources, stats=stats)).fired == 2
    got = {r["id"]: r for r in await listed(owner.api, "/alerts")}
    assert got[errors["id"]]["last_measure"] == 50.0  # percent of 5xx
    assert got[slow["id"]]["last_measure"] == 500.0  # p95 at the histogram's resolution
    assert {r["state"] for r in got.values()} == {"firing"}


async def test_a_cost_rule_measures_the_project_spend_in_its_window(
    signed_in: SignedInFactory, resources: Resources
) -> None:
    owner = await signed_in()
    rule = await create_rule(
        owner.browser, condition_type="cost", condition_threshold=250, window_minutes=60
    )
    await played(resources, owner, GPT_A)  # costs 70
    assert (await evaluate(resources)).fired == 0
    await played(resources, owner, GPT_B)  # costs 190: 260 in the window
    assert (await evaluate(resources)).fired == 1
    [event] = await listed(owner.api, f"/alerts/{rule['id']}/events")
    assert event["measure"] == 260.0
    assert "spend over the last 60 min reached the threshold 250 (260)" in event["message"]
