from __future__ import annotations

import pytest
from pydantic import ValidationError

from eid.core.settings import Settings


def test_production_refuses_to_start_without_real_settings() -> None:
    with pytest.raises(ValidationError, match=r"EID_DATABASE_URL.*EID_KEYS_DIR.*EID_SMTP_HOST"):
        Settings(
            env="production",
            issuer="https://eid.example",
            database_url=None,
            keys_dir=None,
            smtp_host=None,
            sms_gateway_url=None,
        )
    with pytest.raises(ValidationError, match="https"):
        Settings(
            env="production",
            issuer="http://eid.example",
            database_url="postgresql://x",
            keys_dir="/etc/eid/keys",
            smtp_host="smtp",
            sms_gateway_url="https://sms",
        )
    ok = Settings(
        env="production",
        issuer="https://eid.example",
        database_url="postgresql://x",
        keys_dir="/etc/eid/keys",
        smtp_host="smtp",
        sms_gateway_url="https://sms",
    )
    assert ok.resolved_keys_dir.as_posix() == "/etc/eid/keys"


def test_production_never_generates_keys(tmp_path: object) -> None:
    from pathlib import Path

    from eid.core.crypto import FileKeyStore
    from eid.core.errors import EidError

    store = FileKeyStore(Path(str(tmp_path)) / "keys", generate=False)
    with pytest.raises(EidError) as err:
        store.data_key()
    assert err.value.code == "KEY_MISSING"
