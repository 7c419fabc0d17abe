"""The collector's FastAPI application: ``create_app(store, settings)``.

Only the routes' own modules touch the store; this wires them together with the error format,
the request-size guard and the OpenAPI description (kept in docs/openapi.json).
"""

from __future__ import annotations

import logging
from typing import Final

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workprint import __version__, portal
from workprint.collector import routes_admin, routes_device, routes_ingest, routes_me
from workprint.collector.errors import ApiError, error_response, install_error_handlers
from workprint.collector.routes_ingest import IngestGate
from workprint.collector.settings import CollectorSettings
from workprint.store.interface import CredentialError, NotFoundError, Store, StoreError

log = logging.getLogger(__name__)

DESCRIPTION: Final = """\
Devices upload their recorded events here; people read, export and erase their own data.
Every request but `/healthz` and `/v1/enroll` carries `Authorization: Bearer TOKEN`.
Every error is `{"error": "…"}`. See docs/collector.md."""


def create_app(store: Store, settings: CollectorSettings | None = None) -> FastAPI:
    settings = settings or CollectorSettings()
    app = FastAPI(
        title="workprint collector",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # the interactive pages load scripts from elsewhere; the JSON suffices
        redoc_url=None,
    )
    app.state.store = store
    app.state.settings = settings
    app.state.ingest_gate = IngestGate(settings)
    install_error_handlers(app, settings.unavailable_retry_after_s)
    _install_store_errors(app, settings.unavailable_retry_after_s)
    for module in (routes_admin, routes_device, routes_ingest, routes_me):
        app.include_router(module.router)
    portal.install(app, store)  # the web portal under /portal (docs/portal.md)
    app.add_middleware(BodyLimit, settings=settings)
    return app


def _install_store_errors(app: FastAPI, retry_after_s: int) -> None:
    """What the store refuses (unknown, erased, revoked) is said as 404/403; any other store
    failure (its database or disk) is 503 with Retry-After: the client keeps its data and retries.
    """

    async def store_error(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, NotFoundError):
            return error_response(404, str(exc) or "not found")
        if isinstance(exc, CredentialError):
            return error_response(403, str(exc) or "not allowed")
        log.error("store failure during %s %s: %s", request.method, request.url.path, exc)
        return error_response(
            503, "storage is unavailable; try again later", {"Retry-After": str(retry_after_s)}
        )

    app.add_exception_handler(StoreError, store_error)


class BodyLimit:
    """Refuse an oversized request body with 413 before a handler reads it: JSON endpoints get
    ``max_json_bytes``; the batch endpoint enforces its own, larger limit while streaming."""

    def __init__(self, app: ASGIApp, settings: CollectorSettings) -> None:
        self.app = app
        self.limit = settings.max_json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/v1/batches":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(scope, receive, send)
            return
        if declared is None and scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            body = bytearray()
            more = True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    break
                body += message.get("body", b"")
                more = message.get("more_body", False)
                if len(body) > self.limit:
                    await self._refuse(scope, receive, send)
                    return
            receive = _replay(bytes(body))
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, f"the body is more than the limit of {self.limit} bytes")
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


__all__ = ["ApiError", "create_app"]
