"""Read-only HTTP API and dashboard, served by the daemon (and by `serve`).

GET only: `/` (dashboard) and `/incidents/{id}` (incident page), static files in monitor/web/static,
`/api/incidents` (filters of monitor.querying.FILTER_PARAMS, keyset-paginated with `next`, `order=event`
for newest event date first), `/api/incidents/{id}` (+ `/articles`), `/api/timeline`, `/api/feeds`,
`/api/ceasefires`, `/openapi.json`, `/healthz` (+ `/healthz/ready`), `/metrics`.
Errors are JSON `{"ok": false, "error": ..., "status": ...}`; tracebacks only reach the log. With a token,
`/api/*` needs `Authorization: Bearer TOKEN`; probes, metrics and the page itself stay open.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from monitor import metrics
from monitor.errors import DatabaseError, InputError
from monitor.querying import (
    FILTER_PARAMS,
    decode_cursor,
    decode_event_cursor,
    encode_cursor,
    encode_event_cursor,
    parse_filter,
    parse_when,
)
from monitor.settings import CeasefireSettings
from monitor.store import Store
from monitor.store.incident_page import incident_articles, page_by_event
from monitor.store.json_pages import page_listed
from monitor.store.queries import ceasefire_counts, ping, store_stats, timeline
from monitor.web.desk import STATIC, article_json, incident_json, listed_page, page
from monitor.web.health import Health, readiness
from monitor.web.views import ceasefire_json, feed_json, iso

if TYPE_CHECKING:
    from monitor.pipeline import Deps

log = logging.getLogger("monitor.api")
MAX_PAGE = 1_000
TIMELINE_DEFAULT_SINCE = "90d"
DATE_PARAMS = ("since", "until", "event_since", "event_until", "seen_since")
ORDERS = ("updated", "event")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message, "status": status}, status_code=status)


class _Handlers:
    """The endpoints over one store. Every query runs in a worker thread, inside one read transaction."""

    def __init__(self, store: Store, health: Health | None, ceasefires: Sequence[CeasefireSettings],
                 tiles: str | None = None, credit: str | None = None) -> None:
        self.store, self.health, self.ceasefires = store, health, tuple(ceasefires)
        self.tiles, self.credit = tiles, credit

    async def read(self, fn: Callable[..., Any], *args: Any) -> Any:
        def run() -> Any:
            with self.store.read() as conn:
                return fn(conn, *args)
        return await asyncio.to_thread(run)

    async def healthz(self, request: Request) -> Response:
        try:
            await self.read(ping)
        except DatabaseError as exc:
            return _error(503, f"database: {exc.message}")
        body: dict[str, Any] = {"ok": True, "database": "ok", **readiness(self.health)}
        wants_ready = request.url.path.endswith("/ready") or request.query_params.get("ready") not in (None, "", "0")
        if wants_ready and not body["ready"]:
            return JSONResponse({**body, "ok": False}, status_code=503)
        return JSONResponse(body)

    async def metrics(self, request: Request) -> Response:
        stats = await self.read(store_stats)
        body = metrics.render(stats, started_at=self.health.started_at if self.health else None)
        return Response(body, media_type=metrics.CONTENT_TYPE)

    async def incidents(self, request: Request) -> Response:
        params = dict(request.query_params)
        cursor = params.pop("cursor", None)
        order = params.pop("order", None) or "updated"
        if order not in ORDERS:
            raise InputError(f"order: {order!r} is not one of {', '.join(ORDERS)}")
        f = parse_filter(params, extra=frozenset({"cursor", "order"}))
        if f.limit is not None and f.limit > MAX_PAGE:
            raise InputError(f"limit: must be between 1 and {MAX_PAGE} for one page (follow `next` for more)")
        next_cursor: str | None = None
        if order == "event":
            found = await self.read(page_by_event, f, decode_event_cursor(cursor) if cursor else None)
            if found.next_after is not None:
                next_cursor = encode_event_cursor(found.next_after)
        else:
            found = await self.read(page_listed, replace(f, after=decode_cursor(cursor)) if cursor else f)
            if found.next_after is not None:
                next_cursor = encode_cursor(found.next_after)
        if "order" in request.query_params:
            params["order"] = order
        next_url = f"{request.url.path}?{urlencode({**params, 'cursor': next_cursor})}" if next_cursor else None
        return listed_page(found.items, next_url)

    async def incident(self, request: Request) -> Response:
        found = await asyncio.to_thread(self.store.incident, request.path_params["id"])
        if found is None:
            return _error(404, f"id: no incident {request.path_params['id']!r}")
        view, revisions, alerts = found
        return JSONResponse({"ok": True, "incident": {**incident_json(view), "evidence": list(view.evidence),
                                                      "updated_at": iso(view.updated_at),
                                                      "revisions": revisions, "alerts": alerts}})

    async def incident_articles(self, request: Request) -> Response:
        if request.query_params:
            raise InputError(f"{sorted(request.query_params)[0]}: unknown parameter (this path takes none)")
        found = await self.read(incident_articles, request.path_params["id"])
        if found is None:
            return _error(404, f"id: no incident {request.path_params['id']!r}")
        return JSONResponse({"ok": True, "articles": [article_json(a) for a in found]})

    async def timeline(self, request: Request) -> Response:
        params = dict(request.query_params)
        everything = params.pop("all", None)
        if everything not in (None, "0", "1", "true", "false"):
            raise InputError(f"all: {everything!r} is not 1 or 0")
        if everything not in ("1", "true") and not any(params.get(p) for p in DATE_PARAMS):
            params["since"] = TIMELINE_DEFAULT_SINCE
        f = parse_filter(params, all_rows=True, extra=frozenset({"all"}))
        days = await self.read(timeline, f)
        return JSONResponse({"ok": True, "days": [{"date": d, "counts": c} for d, c in days.items()]})

    async def feeds(self, request: Request) -> Response:
        rows = await asyncio.to_thread(self.store.list_feeds)
        return JSONResponse({"ok": True, "feeds": [feed_json(f) for f in rows]})

    async def ceasefires_(self, request: Request) -> Response:
        unknown = sorted(set(request.query_params) - {"since"})
        if unknown:
            raise InputError(f"{unknown[0]}: unknown parameter (known: since)")
        since_raw = request.query_params.get("since")
        since = parse_when(since_raw, "since") if since_raw else None
        total = await self.read(ceasefire_counts)
        recent = await self.read(ceasefire_counts, since) if since else None
        return JSONResponse({"ok": True, "ceasefires": [
            ceasefire_json(c, total.get(c.name, 0), None if recent is None else recent.get(c.name, 0))
            for c in self.ceasefires]})

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document())

    async def dashboard(self, request: Request) -> Response:
        return page("index.html", self.tiles, self.credit)

    async def incident_page(self, request: Request) -> Response:
        return page("incident.html", self.tiles)


async def _on_input_error(request: Request, exc: Exception) -> Response:
    return _error(400, str(getattr(exc, "message", exc)))


async def _on_db_error(request: Request, exc: Exception) -> Response:
    return _error(503, str(getattr(exc, "message", exc)))


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(exc.status_code, str(exc.detail))


async def _on_crash(request: Request, exc: Exception) -> Response:
    log.error("api_error path=%s", request.url.path, exc_info=exc)
    return _error(500, "internal error (see the daemon's log)")


def create_app(store: Store, health: Health | None, *, token: str | None = None,
               cors_origins: tuple[str, ...] = (), ceasefires: Sequence[CeasefireSettings] = (),
               tiles: str | None = None, tiles_attribution: str | None = None) -> Starlette:
    """The ASGI app over `store`. `health` is the daemon's (None under `serve`, which is then always
    ready); `ceasefires` are the configured ones /api/ceasefires lists; `token` guards /api/*; `tiles` is
    the map's tile URL template (None: the vendored country outlines only), shown with `tiles_attribution`."""
    h = _Handlers(store, health, ceasefires, tiles, tiles_attribution)
    middleware = [Middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET"],
                             allow_headers=["Authorization"])] if cors_origins else []
    app = Starlette(
        routes=[Route("/", h.dashboard), Route("/healthz", h.healthz), Route("/healthz/ready", h.healthz),
                Route("/metrics", h.metrics), Route("/openapi.json", h.openapi),
                Route("/incidents/{id}", h.incident_page),
                Route("/api/incidents", h.incidents), Route("/api/incidents/{id}", h.incident),
                Route("/api/incidents/{id}/articles", h.incident_articles),
                Route("/api/timeline", h.timeline), Route("/api/feeds", h.feeds),
                Route("/api/ceasefires", h.ceasefires_),
                Mount("/static", app=StaticFiles(directory=STATIC), name="static")],
        middleware=middleware,
        exception_handlers={InputError: _on_input_error, DatabaseError: _on_db_error, HTTPException: _on_http,
                            Exception: _on_crash},
    )
    if token:
        app.add_middleware(_TokenMiddleware, token=token)
    return app


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of the read-only API, its filters taken from FILTER_PARAMS."""
    from monitor import __version__

    def param(name: str, kind: str, help: str, example: str | None = None, where: str = "query") -> dict[str, Any]:
        out: dict[str, Any] = {"name": name, "in": where, "required": where == "path", "description": help,
                               "schema": {"type": kind}}
        return {**out, "example": example} if example else out

    def ok(description: str, ref: str | None = None) -> dict[str, Any]:
        schema = {"$ref": f"#/components/schemas/{ref}"} if ref else {"type": "object"}
        return {"200": {"description": description, "content": {"application/json": {"schema": schema}}},
                "400": {"$ref": "#/components/responses/BadRequest"},
                "401": {"$ref": "#/components/responses/Unauthorized"}}

    def get(summary: str, responses: dict[str, Any], params: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
        return {"get": {"summary": summary, "parameters": list(params), "responses": responses}}

    filters = [param(p.name, p.type, p.help, p.example) for p in FILTER_PARAMS]
    cursor = param("cursor", "string", "Opaque cursor from the `next` link of the previous page.")
    order = param("order", "string", "`updated` (default): most recently updated first; `event`: newest event "
                  "date first, incidents without one last.", "event")
    everything = param("all", "string", "1: every day of the data, instead of the default `since=90d` that "
                       "applies when no date filter is given.", "1")
    since = param("since", "string", "Count violations updated since (date, ISO time or span).", "30d")
    error = {"type": "object", "required": ["ok", "error", "status"],
             "properties": {"ok": {"const": False}, "error": {"type": "string"}, "status": {"type": "integer"}}}
    incident = {"type": "object", "required": ["id", "revision", "labels", "title", "articles"], "properties": {
        "id": {"type": "string"}, "revision": {"type": "integer"}, "event_date": {"type": ["string", "null"]},
        "country": {"type": ["string", "null"]}, "admin1": {"type": ["string", "null"]},
        "place": {"type": ["string", "null"]}, "lat": {"type": ["number", "null"]},
        "lon": {"type": ["number", "null"]}, "geo_precision": {"type": ["string", "null"]},
        "labels": {"type": "array", "items": {"type": "string"}}, "killed": {"type": ["integer", "null"]},
        "injured": {"type": ["integer", "null"]}, "severity": {"type": "number"}, "source_count": {"type": "integer"},
        "ceasefire": {"type": ["string", "null"]}, "title": {"type": "string"},
        "articles": {"type": "array", "items": {"type": "object"}}}}
    page = {"type": "object", "properties": {
        "ok": {"const": True}, "count": {"type": "integer"},
        "incidents": {"type": "array", "items": {"$ref": "#/components/schemas/Incident"}},
        "next": {"type": ["string", "null"], "description": "URL of the next page, null on the last"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "ceasefire-monitor", "version": __version__,
                 "description": "Read-only incident log. With api.token set, /api/* needs a bearer token."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": error, "Incident": incident, "IncidentPage": page},
            "responses": {
                "BadRequest": {"description": "A bad parameter, named in `error`",
                               "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "Unauthorized": {"description": "Missing or wrong bearer token"}}},
        "security": [{}, {"bearer": []}],
        "paths": {
            "/api/incidents": get("Incidents, most recently updated first (or by event date), one page at a time",
                                  ok("A page of incidents", "IncidentPage"), [*filters, order, cursor]),
            "/api/incidents/{id}": get("One incident with its revisions and alerts", {
                **ok("The incident"), "404": {"$ref": "#/components/responses/BadRequest"}},
                [param("id", "string", "Public id such as INC-7Q2K9A", where="path")]),
            "/api/incidents/{id}/articles": get("One incident's articles with their text, evidence phrases and "
                                                "the offsets of those phrases in title and text", {
                **ok("The articles"), "404": {"$ref": "#/components/responses/BadRequest"}},
                [param("id", "string", "Public id such as INC-7Q2K9A", where="path")]),
            "/api/timeline": get("Incidents per day (event date) by label; since defaults to 90d when no date "
                                 "filter is given", ok("Days"), [*filters, everything]),
            "/api/feeds": get("Each feed's fetch state and health", ok("Feeds")),
            "/api/ceasefires": get("Configured ceasefires and their violation counts", ok("Ceasefires"), [since]),
            "/healthz": get("Liveness (database reachable); ?ready=1 also needs readiness", {
                "200": {"description": "Alive"}, "503": {"description": "Database unreachable or not ready"}}),
            "/healthz/ready": get("Readiness: scheduler running and a recent tick", {
                "200": {"description": "Ready"}, "503": {"description": "Not ready"}}),
            "/metrics": get("Prometheus metrics", {"200": {"description": "Text exposition format"}}),
        },
    }


class _TokenMiddleware:
    """Require `Authorization: Bearer TOKEN` on /api/*; probes, metrics and static files stay open."""

    def __init__(self, app: Callable[..., Awaitable[None]], token: str) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/") and scope.get("method") != "OPTIONS":
            headers = dict(scope.get("headers") or [])
            given = headers.get(b"authorization", b"").decode("latin-1")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
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
    app = create_app(deps.store, health, token=api.token, cors_origins=api.cors_origins,
                     ceasefires=deps.settings.ceasefires, tiles=api.tiles, tiles_attribution=api.tiles_attribution)
    config = uvicorn.Config(app, host=api.bind, port=api.port, log_level="warning", access_log=False,
                            lifespan="off")
    server = _QuietServer(config)
    try:
        await server.serve()
    except SystemExit:  # uvicorn exits when it cannot bind
        log.error("api_bind_failed bind=%s port=%s", api.bind, api.port)
