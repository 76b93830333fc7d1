"""Resolve the principal once per request and apply the general rate limit (API.md §1.4)."""

from __future__ import annotations

from functools import cache

from limits import RateLimitItem
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orbiter.auth.principal import Principal
from orbiter.auth.resolve import Outcome, resolve_principal
from orbiter.core.errors import AppError, RateLimited, ServiceUnavailable
from orbiter.core.handlers import error_response
from orbiter.core.net import client_ip
from orbiter.core.ratelimit import Decision, per_minute
from orbiter.core.settings import Settings
from orbiter.runtime.resources import Resources


@cache
def _per_minute(limit: int) -> RateLimitItem:
    """One rate-limit item per limit, built once (it is immutable)."""
    return per_minute(limit)


def plan_limit(settings: Settings, plan: str) -> int:
    return {"pro": settings.rate_limit_pro, "team": settings.rate_limit_team}.get(
        plan, settings.rate_limit_free
    )


class AuthenticationMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        resources: Resources = scope["app"].state.resources
        request = Request(scope)
        state = scope.setdefault("state", {})
        state["client_ip"] = client_ip(scope, resources.settings.trusted_proxies)
        try:
            outcome = await resolve_principal(request.headers, request.cookies, resources)
            state["principal"] = outcome
            decision = await self._general_limit(outcome, state["client_ip"], resources)
        except AppError as exc:
            await error_response(exc)(scope, receive, send)
            return
        if decision is None:
            await self.app(scope, receive, send)
            return
        if not decision.allowed:
            denied = RateLimited("Rate limit exceeded", headers=decision.headers())
            await error_response(denied)(scope, receive, send)
            return
        await self.app(scope, receive, _with_headers(send, decision))

    async def _general_limit(
        self, outcome: Outcome, ip: str, resources: Resources
    ) -> Decision | None:
        limiter = resources.limiter
        if not limiter.enabled:
            return None
        settings = resources.settings
        if isinstance(outcome, Principal):
            identity, limit = f"user:{outcome.user_id}", plan_limit(settings, outcome.plan)
        else:
            identity, limit = f"ip:{ip}", settings.rate_limit_free
        try:
            return await limiter.hit(_per_minute(limit), "general", identity)
        except ServiceUnavailable:
            if settings.rate_limit_general_on_outage == "open":
                return None
            raise


def _with_headers(send: Send, decision: Decision) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in decision.headers().items():
                if name not in headers:  # a stricter group's figures win
                    headers[name] = value
        await send(message)

    return send_with_headers
