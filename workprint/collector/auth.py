"""Who is calling, and may they: Bearer tokens → ``Store.authenticate`` → ``Principal``.

Every endpoint but ``/healthz`` and ``/v1/enroll`` depends on one of the guards below, so a
request without a valid credential never reaches a handler. Roles (DESIGN.md principle 4):

- subject: their own data only (upload from their devices, read, export, erase);
- steward: policies, releases, aggregate views, the audit log's integrity;
- researcher: released datasets only — nothing on this service;
- admin: operations (people, devices, revocation) but no event content.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Final

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from workprint.collector.errors import ApiError
from workprint.store.interface import Principal, Role, Store

MAX_TOKEN_CHARS: Final = 512
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}

bearer = HTTPBearer(auto_error=False, description="A device credential or a personal API token.")


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller's principal; 401 for a missing, malformed, unknown or revoked token."""
    if credentials is None:
        raise ApiError(401, "missing credential: send 'Authorization: Bearer TOKEN'", _UNAUTHORIZED)
    token = credentials.credentials
    if not token or len(token) > MAX_TOKEN_CHARS or not token.isascii() or not token.isprintable():
        raise ApiError(401, "malformed credential", _UNAUTHORIZED)
    store = get_store(request)
    principal = await run_in_threadpool(store.authenticate, token)
    if principal is None:
        raise ApiError(401, "unknown, revoked or expired credential", _UNAUTHORIZED)
    return principal


Caller = Annotated[Principal, Depends(authenticate)]


def require(*roles: Role, device: bool = False) -> Callable[..., object]:
    """A dependency admitting only ``roles`` (and only a device credential if ``device``)."""
    allowed = ", ".join(roles)

    async def guard(principal: Caller) -> Principal:
        if principal.role not in roles:
            raise ApiError(403, f"this needs the role {allowed}; yours is {principal.role}")
        if device and principal.device_id is None:
            raise ApiError(403, "this needs a device credential (from `workprint enroll`)")
        return principal

    guard.__name__ = f"require_{'_'.join(roles)}{'_device' if device else ''}"
    return guard


SubjectDevice = Annotated[Principal, Depends(require("subject", device=True))]
Subject = Annotated[Principal, Depends(require("subject"))]
Admin = Annotated[Principal, Depends(require("admin"))]
StewardOrAdmin = Annotated[Principal, Depends(require("steward", "admin"))]
