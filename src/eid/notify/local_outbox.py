"""Development channels: each message becomes a file under <data_dir>/outbox/{email,sms}/.

A retry writes the same file name again, so a message is there once however often it is sent.
"""

from __future__ import annotations

import json
import logging
import os
import re
from email.message import EmailMessage
from pathlib import Path

log = logging.getLogger(__name__)


def _file_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", key.strip("<>"))


def _write_private(path: Path, data: bytes) -> None:
    """Messages may carry activation codes: readable by this user only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    temporary.replace(path)


class LocalOutboxEmailSender:
    def __init__(self, folder: Path, sender: str) -> None:
        self.folder = folder
        self.sender = sender

    def send(self, *, to: str, subject: str, body: str, message_id: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = message_id
        message.set_content(body)
        _write_private(self.folder / f"{_file_name(message_id)}.eml", message.as_bytes())
        log.info("email delivered to local outbox folder %s", self.folder)


class LocalOutboxSmsGateway:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, *, to: str, text: str, idempotency_key: str) -> None:
        payload = {"to": to, "text": text, "idempotency_key": idempotency_key}
        _write_private(
            self.folder / f"{_file_name(idempotency_key)}.json",
            json.dumps(payload, ensure_ascii=False, indent=2).encode(),
        )
        log.info("SMS delivered to local outbox folder %s", self.folder)
