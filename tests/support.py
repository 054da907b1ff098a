"""The one test harness: a free port, the local SMTP and SMS-gateway peers, the live server,
the worker thread, and reading the outbox. Fixtures over these live in `tests/conftest.py`.

Waiting is on the real event wherever there is one: a peer's condition when a message arrives,
uvicorn's start-up, the worker's pause. `wait_until` polls, with a deadline, only where nothing
signals (an application's status read over HTTP)."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, NamedTuple, TypeVar

import uvicorn
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session

T = TypeVar("T")
log = logging.getLogger(__name__)


def free_port() -> int:
    """A loopback port nobody listens on (the OS picks it; closed again at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Received(Generic[T]):
    """What a peer has received, in order, with a condition a test waits on."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.items: list[T] = []

    def add(self, item: T) -> None:
        with self._cond:
            self.items.append(item)
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self.items.clear()

    def wait_for(self, match: Callable[[T], object], *, after: int = 0, timeout: float = 60) -> T:
        """The first item from index `after` on that `match`es, as soon as it arrives."""

        def found() -> T | None:
            return next((m for m in self.items[after:] if match(m)), None)

        with self._cond:
            if not self._cond.wait_for(lambda: found() is not None, timeout):
                raise AssertionError(f"no matching message within {timeout} s")
            item = found()
            assert item is not None
            return item


class Mail(NamedTuple):
    """One email as the SMTP peer received it: envelope recipients and the parsed message."""

    to: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        body = self.message.get_body(preferencelist=("plain", "html"))
        return str(body.get_content()) if body is not None else ""


class SmtpPeer:
    """A local SMTP server (aiosmtpd). `refuse` scripts RCPT answers (e.g. "550 ...") for the
    next recipients; then every recipient is accepted."""

    def __init__(self) -> None:
        self.inbox: Received[Mail] = Received()
        self.refuse: list[str] = []
        self.host = "127.0.0.1"
        self.port = free_port()
        self._controller = Controller(self, hostname=self.host, port=self.port)

    @property
    def messages(self) -> list[Mail]:
        return self.inbox.items

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse:
            return self.refuse.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.inbox.add(Mail(list(envelope.rcpt_tos), message))
        return "250 OK"

    def reset(self) -> None:
        self.inbox.clear()
        self.refuse = []

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


class SmsPeer:
    """Stands for the operator's HTTP SMS gateway: answers with the statuses in `script` first,
    then 200, and records every message it accepted and how many requests it saw."""

    def __init__(self) -> None:
        self.inbox: Received[dict[str, Any]] = Received()
        self.requests = 0
        self.script: list[int] = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                peer.requests += 1
                status = peer.script.pop(0) if peer.script else 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if status == 200 else b'{"error": "x"}')
                if status == 200:  # recorded once answered: a waiting test reads it at once
                    peer.inbox.add(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/messages"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.inbox.items

    def reset(self) -> None:
        self.inbox.clear()
        self.requests = 0
        self.script = []

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Peers(NamedTuple):
    smtp: SmtpPeer
    sms: SmsPeer

    def env(self) -> dict[str, str]:
        """The settings that point another process (`eid worker`) at these peers."""
        return {
            "EID_SMTP_HOST": self.smtp.host,
            "EID_SMTP_PORT": str(self.smtp.port),
            "EID_SMS_GATEWAY_URL": self.sms.url,
        }


class _Server(uvicorn.Server):
    """uvicorn, telling the test when it listens instead of being polled for it."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = threading.Event()

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        self.listening.set()


class LiveServer:
    """The real ASGI app under uvicorn on a free loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = _Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )

    def __enter__(self) -> LiveServer:
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        if not self.server.listening.wait(20) or not self.server.started:
            raise RuntimeError("the test server did not start")
        return self

    def use(self, ports: object) -> None:
        """Serve later requests with these ports: `app.state` is where `create_app(ports=...)`
        keeps them for the endpoints' dependencies."""
        self.app.state.ports = ports

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class WorkerThread:
    """The job worker in a thread of the test process, which a test can pause."""

    def __init__(self, context: object) -> None:
        from eid.core.jobs import Worker

        self.worker = Worker(context=context, name="test-worker")
        self.running = threading.Event()
        self.running.set()
        self.idle = threading.Event()  # set while paused, between two jobs
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            if not self.running.is_set():
                self.idle.set()
                self.running.wait(0.1)
                continue
            self.idle.clear()
            try:
                busy = self.worker.run_once()
            except Exception:  # as `Worker.run_forever`: a lost connection is retried
                log.exception("test worker loop error; retrying")
                busy = False
            if not busy:
                # The queue has no signal of its own: poll it, as `Worker.run_forever` does.
                self._stop.wait(0.02)

    def pause(self, timeout: float = 60) -> None:
        """Returns once the worker has finished the job in hand and takes no other."""
        self.idle.clear()
        self.running.clear()
        if not self.idle.wait(timeout):
            raise AssertionError("the worker did not pause")

    def resume(self) -> None:
        self.running.set()

    def use(self, context: object) -> None:
        """Hand later jobs these ports (as `eid worker` hands its own), between two jobs."""
        self.pause()
        self.worker.context = context
        self.resume()

    def __enter__(self) -> WorkerThread:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.running.set()
        self.thread.join(timeout=30)


def wait_until(predicate: Callable[[], Any], timeout: float = 60.0, every: float = 0.05) -> Any:
    """Polls with a deadline: only for what nothing signals."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(every)


@dataclass(frozen=True)
class Outgoing:
    """A notification as the outbox holds it, its body unsealed."""

    id: uuid.UUID
    channel: str
    address: str | None
    template: str
    language: str
    subject: str
    text: str


def outbox(
    session: Session, recipient_id: uuid.UUID, template: str | None = None
) -> list[Outgoing]:
    """What the outbox holds for one recipient, in the caller's transaction: what will be
    delivered, read without patching the code that sends it. Rows written in one transaction
    share their `created_at`, so tell a new message from older ones by id, not by position."""
    from eid.notify.models import Notification
    from eid.notify.service import message_text

    query = select(Notification).where(Notification.recipient_id == recipient_id)
    if template is not None:
        query = query.where(Notification.template == template)
    rows = session.execute(query.order_by(Notification.created_at, Notification.id)).scalars()
    return [
        Outgoing(
            id=n.id,
            channel=n.channel,
            address=n.address,
            template=n.template,
            language=n.language,
            subject=n.subject,
            text=message_text(n),
        )
        for n in rows
    ]


def code_in(text: str, digits: int = 6) -> str:
    """The one-time code a message carries."""
    found = re.search(rf"\b(\d{{{digits}}})\b", text)
    assert found is not None, "no code in the message"
    return found.group(1)


def decode_qr(png: bytes) -> str:
    """What a phone camera reads from a QR image, by OpenCV ("" when nothing is read). OpenCV's
    classic detector misses about 3 % of clean codes (8 of 300 random card links, where a
    camera would refocus): it gets a second look with the ArUco-based detector and with a
    margin around the picture and scaled down (0 misses of 300 with both)."""
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    framed = cv2.copyMakeBorder(image, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=255)
    halved = cv2.resize(framed, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
        for view in (image, framed, halved):
            text, _, _ = detector.detectAndDecode(view)
            if text:
                return str(text)
    return ""
