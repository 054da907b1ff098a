from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest

from eid.core.settings import Settings
from eid.notify.channels import channels_from_settings
from eid.notify.local_outbox import LocalOutboxEmailSender, LocalOutboxSmsGateway
from eid.notify.ports import DeliveryFailed
from eid.notify.sms_http import HttpSmsGateway
from eid.notify.smtp import SmtpEmailSender
from tests.support import Peers, free_port


def test_unset_servers_mean_the_local_outbox(tmp_path: Path) -> None:
    channels = channels_from_settings(Settings(data_dir=tmp_path, env="test"))
    assert isinstance(channels.email, LocalOutboxEmailSender)
    assert isinstance(channels.sms, LocalOutboxSmsGateway)
    assert channels.email.folder == tmp_path / "outbox" / "email"


def test_configured_servers_are_used(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        env="test",
        smtp_host="mail.example",
        smtp_port=2525,
        sms_gateway_url="https://sms.example/send",
    )
    channels = channels_from_settings(settings)
    assert isinstance(channels.email, SmtpEmailSender)
    assert (channels.email.host, channels.email.port) == ("mail.example", 2525)
    assert isinstance(channels.sms, HttpSmsGateway)


def test_local_outbox_writes_private_files_once_and_logs_no_personal_data(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    email = LocalOutboxEmailSender(tmp_path / "email", "eid@localhost")
    sms = LocalOutboxSmsGateway(tmp_path / "sms")
    for _ in range(2):  # a retry rewrites the same file
        email.send(to="kim@example.com", subject="S", body="code 04711234", message_id="<n-1@x>")
        sms.send(to="+84912345678", text="code 04711234", idempotency_key="notification-1")
    [eml] = (tmp_path / "email").iterdir()
    assert "code 04711234" in eml.read_text()
    assert stat.S_IMODE(eml.stat().st_mode) == 0o600
    [sms_file] = (tmp_path / "sms").iterdir()
    assert json.loads(sms_file.read_text())["to"] == "+84912345678"
    assert "delivered to local outbox folder" in caplog.text
    for secret in ("kim@example.com", "+84912345678", "04711234"):
        assert secret not in caplog.text


@pytest.mark.parametrize(
    ("status", "permanent"), [(400, True), (404, True), (422, True), (429, False), (503, False)]
)
def test_gateway_answers_are_classified(status: int, permanent: bool, peers: Peers) -> None:
    peers.sms.script = [status]
    with pytest.raises(DeliveryFailed) as failure:
        HttpSmsGateway(peers.sms.url).send(to="+84912345678", text="t", idempotency_key="k")
    assert failure.value.permanent is permanent
    assert "+849" not in str(failure.value)


def test_unreachable_gateway_is_transient() -> None:
    gateway = HttpSmsGateway(f"http://127.0.0.1:{free_port()}/", timeout=2)
    with pytest.raises(DeliveryFailed) as failure:
        gateway.send(to="+84912345678", text="t", idempotency_key="k")
    assert failure.value.permanent is False


def test_smtp_refused_recipient_is_permanent_and_names_no_address(peers: Peers) -> None:
    peers.smtp.refuse = ["550 5.1.1 mailbox unavailable"]
    with pytest.raises(DeliveryFailed) as failure:
        SmtpEmailSender(peers.smtp.host, peers.smtp.port, "eid@localhost").send(
            to="kim@example.com", subject="s", body="b", message_id="<m@localhost>"
        )
    assert failure.value.permanent is True
    assert "kim@" not in str(failure.value)
