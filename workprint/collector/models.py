"""Request and response bodies of the JSON endpoints, as pydantic models so that the OpenAPI
document (docs/openapi.json) describes them exactly and requests are validated before use."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from workprint.events.model import Scope

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Nanos = Annotated[int, Field(ge=0, le=2**63 - 1)]
RoleName = Literal["subject", "steward", "researcher", "admin"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must be printable characters only")
    return value


Printable = AfterValidator(_printable)


class EnrollRequest(Strict):
    code: Annotated[str, Field(min_length=1, max_length=256), Printable]
    device_name: Annotated[
        str,
        Field(
            min_length=1,
            max_length=128,
            description="How the device is known; `workprint enroll` sends the agent's stream id "
            "(the `device` of its session_start events).",
        ),
        Printable,
    ]


class EnrollResponse(BaseModel):
    device_id: str
    person_id: str
    token: str = Field(description="The device credential: shown once, send as Bearer token.")


class RejectedEventModel(BaseModel):
    index: int
    reason: str


class BatchResultModel(BaseModel):
    batch_id: str
    accepted: int = Field(description="Events newly stored.")
    duplicates: int = Field(description="Events already stored (same device and seq).")
    rejected: int = Field(description="Events kept only as bad rows, or outside consent.")
    rejected_consent: int = 0
    replayed: bool = Field(False, description="This batch id was stored before: nothing written.")
    bad_rows: list[RejectedEventModel] = []
    bad_rows_truncated: bool = False


class ConsentEntryModel(Strict):
    t: Nanos
    action: Literal["grant", "revoke"]
    scopes: Annotated[list[Scope], Field(max_length=16)]
    policy_version: Annotated[int, Field(ge=0, le=2**31 - 1)]


class ConsentUploadModel(Strict):
    history: Annotated[list[ConsentEntryModel], Field(max_length=10_000)]


class ConsentResultModel(BaseModel):
    recorded: int = Field(description="Entries new to the server, now recorded.")
    known: int = Field(description="Entries the server already had.")


class DeviceModel(BaseModel):
    id: str
    name: str
    created_ns: int
    revoked_ns: int | None = None


class PersonModel(BaseModel):
    id: str
    name: str
    role: RoleName
    created_ns: int
    erased_ns: int | None = None
    devices: list[DeviceModel] = []


class MeModel(BaseModel):
    person: PersonModel
    device_id: str | None = Field(None, description="The device of this credential, if any.")


class RevokeResultModel(BaseModel):
    device_id: str
    revoked: bool


class ErasureReceiptModel(BaseModel):
    person_id: str
    t: int
    events_deleted: int
    devices_revoked: int
    key_destroyed: bool


class AuditVerdictModel(BaseModel):
    ok: bool
    entries: int
    first_bad_id: int | None = None
    reason: str = ""


class HealthModel(BaseModel):
    ok: bool
