from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from eid.authority.schemas import AccountRequestMessage
from eid.core import clock


def account_request(**changes: Any) -> AccountRequestMessage:
    today = clock.today_vn()
    app_id = str(uuid.uuid4())
    fields: dict[str, Any] = {
        "request_id": f"app:{app_id}",
        "application_id": app_id,
        "registry_ref": str(uuid.uuid4()),
        "full_name": "PARK SOO AH",
        "date_of_birth": dt.date(1991, 3, 4),
        "sex": "F",
        "nationality": "KOR",
        "passport": {
            "number": "M00000001",
            "type": "P",
            "issuing_state": "KOR",
            "issue_date": "2022-01-01",
            "expiry_date": (today + dt.timedelta(days=900)).isoformat(),
        },
        "residence_card": {
            "number": "TT0000001",
            "kind": "TRC",
            "expiry_date": (today + dt.timedelta(days=300)).isoformat(),
        },
        "phone": "+84912000001",
        "email": "soo.ah@example.test",
        "language": "ko",
        "sent_at": clock.now(),
    }
    fields.update(changes)
    return AccountRequestMessage(**fields)
