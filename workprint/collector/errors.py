"""One error format for every failure: ``{"error": "…"}`` with the right status.

Client mistakes are found by validation before they can raise anywhere deeper; the handlers here
only give FastAPI's own errors the same shape, turn a storage failure (disk, database) into 503
with Retry-After, and keep a last-resort handler that logs a bug as a 500 without its details.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}


class ApiError(Exception):
    """A request the collector refuses, with the status and the one line to show."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


class StoreUnavailable(Exception):
    """The store failed for a reason of its own (disk, database): try again later."""


def error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=dict(headers or {}))


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` entries for the error statuses an endpoint can return."""
    content = {"application/json": {"schema": ERROR_SCHEMA}}
    return {
        status: {"description": _DESCRIPTIONS[status], "content": content} for status in statuses
    }


_DESCRIPTIONS = {
    400: "The body cannot be read (not the declared encoding or format).",
    401: "No valid credential: missing, unknown, revoked or expired token.",
    403: "The credential is valid but its role or device may not do this.",
    404: "No such resource (or not yours).",
    413: "The body or the batch exceeds a limit.",
    415: "Unsupported Content-Type or Content-Encoding.",
    422: "The request is well-formed but not acceptable as a whole.",
    429: "Too many requests in flight: retry after Retry-After seconds.",
    503: "Storage unavailable: retry after Retry-After seconds.",
}


def install_error_handlers(app: FastAPI, unavailable_retry_after_s: int) -> None:
    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.message, exc.headers)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(exc.status_code, str(exc.detail), exc.headers)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, describe_validation(exc))

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.error("storage unavailable during %s %s: %r", request.method, request.url.path, exc)
        return error_response(
            503,
            "storage is unavailable; try again later",
            {"Retry-After": str(unavailable_retry_after_s)},
        )

    async def last_resort(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        return error_response(500, "internal error (logged)")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    for kind in (StoreUnavailable, OSError, sqlite3.OperationalError):
        app.add_exception_handler(kind, unavailable)
    app.add_exception_handler(Exception, last_resort)


def describe_validation(exc: RequestValidationError) -> str:
    """FastAPI's list of problems as one line: ``body.code: Field required; …``."""
    parts = []
    for problem in exc.errors()[:5]:
        where = ".".join(str(p) for p in problem.get("loc", ()))
        parts.append(f"{where}: {problem.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"
