"""Enrollment, operations and health: ``/v1/enroll``, ``/v1/people``, device revocation, the audit
log's integrity and ``/healthz``. None of these returns event content (DESIGN.md principle 4)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from workprint.collector.auth import Admin, Caller, StewardOrAdmin, get_store
from workprint.collector.errors import ApiError, error_responses
from workprint.collector.models import (
    AuditVerdictModel,
    DeviceModel,
    EnrollRequest,
    EnrollResponse,
    HealthModel,
    PersonModel,
    RevokeResultModel,
)
from workprint.store.interface import CredentialError, NotFoundError, Store

router = APIRouter()


class TokenRevokeResultModel(BaseModel):
    person_id: str
    revoked: int = Field(description="How many personal API tokens were revoked.")


StoreDep = Annotated[Store, Depends(get_store)]
DeviceId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
PersonId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


@router.get("/healthz", response_model=HealthModel)
def healthz() -> HealthModel:
    """Liveness: the process answers (no credential needed)."""
    return HealthModel(ok=True)


@router.post(
    "/v1/enroll",
    summary="Redeem a one-time enrollment code for a device credential",
    response_model=EnrollResponse,
    responses=error_responses(403, 413, 422, 503),
)
def enroll(request: EnrollRequest, store: StoreDep) -> EnrollResponse:
    """The code (from `workprint admin add-person`) works once; the token is shown once."""
    try:
        enrollment = store.redeem_enrollment_code(request.code, request.device_name)
    except (CredentialError, NotFoundError) as exc:
        raise ApiError(403, f"enrollment refused: {exc}") from None
    return EnrollResponse(**msgspec.structs.asdict(enrollment))


@router.get(
    "/v1/people",
    summary="People, their roles and devices (admin; no content)",
    response_model=list[PersonModel],
    responses=error_responses(401, 403, 503),
)
def list_people(principal: Admin, store: StoreDep) -> list[PersonModel]:
    devices: dict[str, list[DeviceModel]] = {}
    for device in store.list_devices():
        devices.setdefault(device.person_id, []).append(
            DeviceModel(**msgspec.structs.asdict(device))
        )
    return [
        PersonModel(**msgspec.structs.asdict(p), devices=devices.get(p.id, []))
        for p in store.list_people()
    ]


@router.post(
    "/v1/devices/{device_id}/revoke",
    summary="Revoke a device credential (admin, or the subject for their own devices)",
    response_model=RevokeResultModel,
    responses=error_responses(401, 403, 404, 422, 503),
)
def revoke_device(device_id: DeviceId, principal: Caller, store: StoreDep) -> RevokeResultModel:
    """Its token stops working at once. A subject asking about a device that is not theirs gets
    404, the same as for a device that does not exist: nothing leaks about other people."""
    if principal.role == "admin":
        owned = store.list_devices()
    elif principal.role == "subject":
        owned = store.list_devices(principal.person_id)
    else:
        raise ApiError(403, f"this needs the role admin or subject; yours is {principal.role}")
    if not any(d.id == device_id for d in owned):
        raise ApiError(404, "no such device")
    try:
        store.revoke_device(device_id, actor=principal.person_id)
    except NotFoundError:
        raise ApiError(404, "no such device") from None
    return RevokeResultModel(device_id=device_id, revoked=True)


@router.post(
    "/v1/people/{person_id}/tokens/revoke",
    summary="Revoke every personal API token of a person (admin)",
    response_model=TokenRevokeResultModel,
    responses=error_responses(401, 403, 404, 422, 503),
)
def revoke_api_tokens(
    person_id: PersonId, principal: Admin, store: StoreDep
) -> TokenRevokeResultModel:
    """The tokens stop working with the next request (API tokens are never cached); the
    person's device credentials are untouched. Audited as ``token.revoke``."""
    try:
        revoked = store.revoke_api_tokens(person_id, actor=principal.person_id)
    except NotFoundError:
        raise ApiError(404, "no such person") from None
    return TokenRevokeResultModel(person_id=person_id, revoked=revoked)


@router.get(
    "/v1/audit/verify",
    summary="Check the hash chain of the audit log (steward or admin)",
    response_model=AuditVerdictModel,
    responses=error_responses(401, 403, 503),
)
def verify_audit(principal: StewardOrAdmin, store: StoreDep) -> AuditVerdictModel:
    return AuditVerdictModel(**msgspec.structs.asdict(store.verify_audit()))
