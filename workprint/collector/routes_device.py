"""Devices pull what the portal decided: ``POST /v1/device/heartbeat``.

A recorder's uploader calls it every few seconds with its state (recording, paused, excluded,
no-consent, stopped) and receives the server's consent history for its person, the person's
pause request and the steward policy's exclusions (applications, sites). The device merges the
history into its local consent record (which the running recorder watches), applies a new pause
request once and merges the exclusions into its edge policy file, so what is decided on the
portal reaches the recorder within seconds, without any inbound connection to the device.
"""

from __future__ import annotations

from typing import Annotated, Literal, cast

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from workprint.collector.auth import SubjectDevice
from workprint.collector.errors import error_responses
from workprint.collector.models import ConsentEntryModel
from workprint.events.model import Scope
from workprint.portal.policy_versions import portal_sections
from workprint.portal.state import PortalState

router = APIRouter(prefix="/v1/device")
POLL_S = 3.0


class HeartbeatModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["recording", "paused", "excluded", "no-consent", "stopped"]
    scopes: Annotated[list[Scope], Field(max_length=16)] = []


class PauseRequestModel(BaseModel):
    paused: bool = Field(description="True: pause recording; false: resume.")
    t: int = Field(description="When it was requested (ns); apply a request once per t.")


class EdgeExclusionsModel(BaseModel):
    version: int = Field(description="The steward's policy version these come from.")
    apps: list[str] = Field(description="Applications during which nothing is recorded.")
    sites: list[str] = Field(description="Sites (host, host:port, *.host) never recorded.")


class DeviceControlModel(BaseModel):
    consent: list[ConsentEntryModel] = Field(
        description="The server's consent history of the device's person, in time order."
    )
    pause: PauseRequestModel | None = Field(None, description="The latest pause request.")
    exclusions: EdgeExclusionsModel | None = Field(
        None, description="The steward policy's exclusions, to merge into the edge policy file."
    )
    poll_s: float = Field(POLL_S, description="Call again after this many seconds.")


@router.post(
    "/heartbeat",
    summary="Report the recorder's state; receive consent and pause requests (device only)",
    response_model=DeviceControlModel,
    responses=error_responses(401, 403, 413, 422, 503),
)
def heartbeat(
    beat: HeartbeatModel, principal: SubjectDevice, request: Request
) -> DeviceControlModel:
    portal: PortalState = request.app.state.portal
    assert principal.device_id is not None  # SubjectDevice admits device credentials only
    portal.devices.heartbeat(
        principal.device_id, principal.person_id, beat.state, tuple(beat.scopes)
    )
    history = portal.store.consent_history(principal.person_id)
    pause = portal.devices.pause_request(principal.person_id)
    policy = portal.policies.current()
    sections = portal_sections(policy.text)
    return DeviceControlModel(
        consent=[
            ConsentEntryModel(
                t=r.t,
                action=r.action,
                scopes=[cast(Scope, s) for s in r.scopes],
                policy_version=r.policy_version,
            )
            for r in history
        ],
        pause=None if pause is None else PauseRequestModel(paused=pause.paused, t=pause.t),
        exclusions=EdgeExclusionsModel(
            version=policy.version, apps=list(sections.apps), sites=list(sections.sites)
        ),
        poll_s=POLL_S,
    )
