"""Read-only HTTP API served by the daemon (and by `serve`): health, incidents, feeds.

Errors are JSON `{"ok": false, "error": ..., "status": ...}`; tracebacks only reach the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from monitor.errors import DatabaseError, InputError
from monitor.querying import parse_filter
from monitor.store import FeedRow, Store

if TYPE_CHECKING:
    from monitor.pipeline import Deps
    from monitor.service import Health

log = logging.getLogger("monitor.api")
STALE_TICK_S = 120.0


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message, "status": status}, status_code=status)


def feed_json(f: FeedRow) -> dict[str, Any]:
    def iso(v: Any) -> str | None:
        return v.isoformat().replace("+00:00", "Z") if v else None

    return {"id": f.id, "name": f.name, "url": f.url, "enabled": f.enabled, "tags": list(f.tags),
            "last_fetch_at": iso(f.last_fetch_at), "last_success_at": iso(f.last_success_at),
            "last_status": f.last_status, "last_error": f.last_error, "last_error_kind": f.last_error_kind,
            "consecutive_failures": f.consecutive_failures, "next_fetch_at": iso(f.next_fetch_at),
            "retired_at": iso(f.retired_at), "items_seen": f.items_seen}


def create_app(store: Store, health: Health | None, *, token: str | None = None,
               cors_origins: tuple[str, ...] = ()) -> Starlette:
    async def healthz(request: Request) -> Response:
        try:
            await asyncio.to_thread(store.article_count)
            database = "ok"
        except DatabaseError as exc:
            return _error(503, f"database: {exc.message}")
        body: dict[str, Any] = {"ok": True, "database": database}
        if health is not None:
            tick_age = None if health.last_tick_at is None else round(time.time() - health.last_tick_at, 1)
            ready = health.scheduler_running and tick_age is not None and tick_age < STALE_TICK_S
            body.update(ready=ready, scheduler_running=health.scheduler_running, last_tick_age_s=tick_age,
                        inflight_feeds=health.inflight_feeds)
            if request.query_params.get("ready") and not ready:
                return JSONResponse({**body, "ok": False}, status_code=503)
        return JSONResponse(body)

    async def incidents(request: Request) -> Response:
        f = parse_filter(dict(request.query_params))
        rows = await asyncio.to_thread(store.incidents, f)
        return JSONResponse({"ok": True, "incidents": [r.to_json() for r in rows]})

    async def incident(request: Request) -> Response:
        found = await asyncio.to_thread(store.incident, request.path_params["id"])
        if found is None:
            return _error(404, f"no incident {request.path_params['id']!r}")
        view, revisions, alerts = found
        return JSONResponse({"ok": True, "incident": {**view.to_json(), "revisions": revisions,
                                                      "alerts": alerts}})

    async def feeds(request: Request) -> Response:
        rows = await asyncio.to_thread(store.list_feeds)
        return JSONResponse({"ok": True, "feeds": [feed_json(f) for f in rows]})

    async def on_input_error(request: Request, exc: Exception) -> Response:
        return _error(400, str(getattr(exc, "message", exc)))

    async def on_db_error(request: Request, exc: Exception) -> Response:
        return _error(503, str(getattr(exc, "message", exc)))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, str(exc.detail))

    async def on_crash(request: Request, exc: Exception) -> Response:
        log.error("api_error path=%s", request.url.path, exc_info=exc)
        return _error(500, "internal error (see the daemon's log)")

    middleware = [Middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET"])] \
        if cors_origins else []
    app = Starlette(
        routes=[Route("/healthz", healthz), Route("/api/incidents", incidents),
                Route("/api/incidents/{id}", incident), Route("/api/feeds", feeds)],
        middleware=middleware,
        exception_handlers={InputError: on_input_error, DatabaseError: on_db_error, HTTPException: on_http,
                            Exception: on_crash},
    )
    if token:
        app.add_middleware(_TokenMiddleware, token=token)
    return app


class _TokenMiddleware:
    """Require `Authorization: Bearer TOKEN` on /api/*; /healthz stays open for probes."""

    def __init__(self, app: Callable[..., Awaitable[None]], token: str) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            headers = dict(scope.get("headers") or [])
            given = headers.get(b"authorization", b"").decode("latin-1")
            if not hmac.compare_digest(given, f"Bearer {self.token}"):
                await _error(401, "missing or wrong bearer token")(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_api(deps: Deps, health: Health | None) -> None:
    api = deps.settings.api
    app = create_app(deps.store, health, token=api.token, cors_origins=api.cors_origins)
    config = uvicorn.Config(app, host=api.bind, port=api.port, log_level="warning", access_log=False,
                            lifespan="off")
    server = _QuietServer(config)
    try:
        await server.serve()
    except SystemExit:  # uvicorn exits when it cannot bind
        log.error("api_bind_failed bind=%s port=%s", api.bind, api.port)
