"""Who is calling, and may they: Bearer tokens → ``Store.authenticate`` → ``Principal``.

Every endpoint but ``/healthz`` and ``/v1/enroll`` depends on one of the guards below, so a
request without a valid credential never reaches a handler. Roles (DESIGN.md principle 4):

- subject: their own data only (upload from their devices, read, export, erase);
- steward: policies, releases, aggregate views, the audit log's integrity;
- researcher: released datasets only — nothing on this service;
- admin: operations (people, devices, revocation) but no event content.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Final

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from workprint.collector.errors import ApiError
from workprint.store.interface import Principal, Role, Store

MAX_TOKEN_CHARS: Final = 512
WRITER_CACHE_S: Final = 30.0  # how long a batch upload may reuse a device's principal
WRITER_CACHE_MAX: Final = 65_536
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}

bearer = HTTPBearer(auto_error=False, description="A device credential or a personal API token.")


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None:
        raise ApiError(401, "missing credential: send 'Authorization: Bearer TOKEN'", _UNAUTHORIZED)
    token = credentials.credentials
    if not token or len(token) > MAX_TOKEN_CHARS or not token.isascii() or not token.isprintable():
        raise ApiError(401, "malformed credential", _UNAUTHORIZED)
    return token


async def _lookup(request: Request, token: str) -> Principal:
    principal = await run_in_threadpool(get_store(request).authenticate, token)
    if principal is None:
        raise ApiError(401, "unknown, revoked or expired credential", _UNAUTHORIZED)
    return principal


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller's principal; 401 for a missing, malformed, unknown or revoked token."""
    return await _lookup(request, _token(credentials))


async def authenticate_writer(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """``authenticate`` for batch uploads, reusing a device's principal for WRITER_CACHE_S.

    Uploads are most of the requests; a lookup costs a hand-over to a worker thread and back.
    Reuse is safe for writes only: the store checks again, in the transaction that commits the
    batch, that the person and the device may still write, so a device revoked (or a person
    erased) meanwhile gets 403 there, and nothing of the batch is stored."""
    token = _token(credentials)
    state = request.app.state
    cache: dict[str, tuple[float, Principal]] | None = getattr(state, "writer_cache", None)
    if cache is None:
        state.writer_cache = cache = {}
    now = time.monotonic()
    hit = cache.get(token)
    if hit is not None and hit[0] > now:
        return hit[1]
    principal = await _lookup(request, token)
    if principal.device_id is not None:
        if len(cache) >= WRITER_CACHE_MAX:
            cache.clear()
        cache[token] = (now + WRITER_CACHE_S, principal)
    return principal


Caller = Annotated[Principal, Depends(authenticate)]


def require(
    *roles: Role,
    device: bool = False,
    source: Callable[..., Awaitable[Principal]] = authenticate,
) -> Callable[..., object]:
    """A dependency admitting only ``roles`` (and only a device credential if ``device``)."""
    allowed = ", ".join(roles)

    async def guard(principal: Principal) -> Principal:
        if principal.role not in roles:
            raise ApiError(403, f"this needs the role {allowed}; yours is {principal.role}")
        if device and principal.device_id is None:
            raise ApiError(403, "this needs a device credential (from `workprint enroll`)")
        return principal

    # Set here, not in the signature: with postponed annotations FastAPI would look ``source``
    # up in this module's globals.
    guard.__annotations__["principal"] = Annotated[Principal, Depends(source)]
    guard.__name__ = f"require_{'_'.join(roles)}{'_device' if device else ''}"
    return guard


SubjectDevice = Annotated[Principal, Depends(require("subject", device=True))]
SubjectDeviceWriter = Annotated[
    Principal, Depends(require("subject", device=True, source=authenticate_writer))
]
Subject = Annotated[Principal, Depends(require("subject"))]
Admin = Annotated[Principal, Depends(require("admin"))]
StewardOrAdmin = Annotated[Principal, Depends(require("steward", "admin"))]
