"""Durable jobs of the e-ID authority."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from eid.authority import lifecycle, service
from eid.authority.schemas import AccountRequestMessage, account_request_aad
from eid.core.crypto import unseal
from eid.core.jobs import periodic, task
from eid.registry.ports import HasRegistry


@task("authority.account_request")
def handle_account_request(session: Session, payload: dict[str, Any], _: object) -> None:
    # Queued before the message was sealed (revision 0002): it is still in clear, a dict.
    legacy: dict[str, Any] | None = (
        payload["message"] if isinstance(payload["message"], dict) else None
    )
    request_id = legacy["request_id"] if legacy else payload["request_id"]

    def opened(name: str) -> bytes | None:
        # Personal and biometric data ride the queue sealed, never in clear in the jobs table;
        # the additional data binds each blob to this request.
        blob = payload.get(name)
        return (
            unseal(base64.b64decode(blob), aad=account_request_aad(request_id, name))
            if blob
            else None
        )

    message = AccountRequestMessage.model_validate(
        legacy if legacy is not None else json.loads(opened("message") or b"null")
    )
    portrait = opened("portrait")
    fingers = opened("fingerprint_templates")
    service.receive_account_request(
        session, message, payload["signature"], portrait=portrait, fingerprint_templates=fingers
    )


@task(service.ACTIVATION_CODE_REQUEST_TASK)
def handle_activation_code_request(session: Session, payload: dict[str, Any], _: object) -> None:
    service.send_requested_activation_code(session, str(payload["eid_number"]))


@periodic("authority.follow_registry", every=timedelta(seconds=30))
@task("authority.follow_registry")
def follow_registry(session: Session, payload: dict[str, Any], ports: HasRegistry) -> None:
    while lifecycle.follow_registry(session, ports.registry(session)) > 0:
        pass


@periodic("authority.watch_expiry", every=timedelta(hours=6))
@task("authority.watch_expiry")
def watch_expiry(session: Session, payload: dict[str, Any], _: object) -> None:
    lifecycle.watch_expiry(session)
