"""Test fixtures: a real PostgreSQL, one fresh database per run, built by the migrations.

EID_TEST_DATABASE_URL names a server to use (CI: the one at 127.0.0.1:5432), as a superuser;
without it the embedded PostgreSQL starts, so a fresh laptop runs the same tests. Each run's
database gets its own owner and application roles (named after it, so parallel runs never
share one): the migrations run as the owner and every test as the application role, under the
grants production has.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

_tmp = Path(tempfile.mkdtemp(prefix="eid-test-"))
os.environ["EID_ENV"] = "test"
os.environ["EID_KEYS_DIR"] = str(_tmp / "keys")
os.environ.setdefault("EID_DATA_DIR", str(Path.home() / ".cache" / "eid-test"))
os.environ.pop("EID_DATABASE_URL", None)

import pytest  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from eid.core import clock  # noqa: E402
from eid.core.database import (  # noqa: E402
    _embedded_url,
    configure_engine,
    normalise_url,
)
from eid.core.roles import DatabaseRoles, drop_roles, provision  # noqa: E402
from eid.core.settings import get_settings  # noqa: E402
from eid.wiring import Ports, build_ports  # noqa: E402
from tests.support import LiveServer, Peers, SmsPeer, SmtpPeer, WorkerThread  # noqa: E402

if TYPE_CHECKING:
    from eid.biometrics import BiometricEngine

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _server_url() -> str:
    configured = os.environ.get("EID_TEST_DATABASE_URL")
    if configured:
        return normalise_url(configured)
    data_dir = Path(os.environ["EID_DATA_DIR"])
    data_dir.mkdir(parents=True, exist_ok=True)
    return _embedded_url(data_dir, "postgres")


@pytest.fixture(scope="session")
def admin_url() -> str:
    """The test server's superuser, on the server's `postgres` database."""
    return make_url(_server_url()).set(database="postgres").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_roles(admin_url: str) -> Iterator[DatabaseRoles]:
    name = f"eid_test_{os.getpid()}_{secrets.token_hex(3)}"
    roles = provision(
        admin_url, name, owner=f"{name}_owner", app=f"{name}_app", with_passwords=True
    )
    os.environ["EID_DATABASE_URL"] = roles.app_url
    os.environ["EID_MIGRATION_DATABASE_URL"] = roles.owner_url
    get_settings.cache_clear()
    from eid.core.schema import upgrade

    upgrade(roles.owner_url, app_role=roles.app)
    yield roles
    from eid.core import database

    if database._engine is not None:
        database._engine.dispose()
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()
    drop_roles(admin_url, roles.owner, roles.app)


@pytest.fixture(scope="session")
def database_url(database_roles: DatabaseRoles) -> str:
    """The application role's URL on this run's database."""
    return database_roles.app_url


@pytest.fixture(scope="session")
def owner_engine(database_roles: DatabaseRoles) -> Iterator[Engine]:
    """The owner role (what the migrations run as): for cleaning up between tests."""
    eng = create_engine(database_roles.owner_url, pool_size=2, hide_parameters=True)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def superuser_engine(admin_url: str, database_roles: DatabaseRoles) -> Iterator[Engine]:
    """The server's superuser on this run's database: an attacker who got past the grants."""
    url = make_url(admin_url).set(database=make_url(database_roles.app_url).database)
    eng = create_engine(url.render_as_string(hide_password=False), pool_size=2)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = create_engine(database_url, pool_size=10, max_overflow=20, hide_parameters=True)
    configure_engine(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back at the end of the test."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def committed(engine: Engine, owner_engine: Engine) -> Iterator[Engine]:
    """For tests whose code commits (HTTP, worker): every table but the audit log is emptied
    afterwards (by the owner: the application role may not TRUNCATE); the audit log is
    append-only by design, so tests read it by their own ids."""
    yield engine
    from eid.core.database import Base
    from eid.core.roles import APPEND_ONLY_TABLES, READ_ONLY_TABLES

    kept = {*APPEND_ONLY_TABLES, *READ_ONLY_TABLES}
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in kept]
    with owner_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    yield
    clock.reset()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"shared test data not found at {SHARED_DATA}")
    return SHARED_DATA


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(__file__).resolve().parents[1] / "build" / "screenshots"


@pytest.fixture
def page() -> Iterator[object]:
    """A headless Chromium page (Debian's browser, driven by Playwright; nothing downloaded)."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        context = browser.new_context(locale="vi-VN")
        yield context.new_page()
        browser.close()


@pytest.fixture
def api(committed: Engine, ports: Ports) -> Iterator[Any]:
    """The app in-process (Starlette's TestClient) with this test's ports, on a database
    emptied afterwards."""
    from fastapi.testclient import TestClient

    from eid.app import create_app

    with TestClient(create_app(ports=ports)) as client:
        yield client


# The harness (tests/support.py): one pair of local peers, one live server and one worker
# thread per session; the ports they use are built afresh for each test.


@pytest.fixture(scope="session")
def _peers() -> Iterator[Peers]:
    smtp, sms = SmtpPeer(), SmsPeer()
    smtp.start()
    sms.start()
    yield Peers(smtp, sms)
    sms.stop()
    smtp.stop()


@pytest.fixture
def peers(_peers: Peers) -> Peers:
    """The local SMTP server and SMS gateway, emptied for this test: what the code under test
    delivers is read here (or in the outbox), never by patching the sender."""
    for peer in _peers:
        peer.reset()
    return _peers


@pytest.fixture(scope="session")
def bio_engine() -> BiometricEngine:
    """One biometric engine per session: its models load once, on first use."""
    from eid.biometrics import BiometricEngine

    return BiometricEngine()


def _build_ports(peers: Peers, engine: BiometricEngine) -> Ports:
    from eid.biometrics.matcher import EngineMatcher
    from eid.notify.ports import Channels
    from eid.notify.sms_http import HttpSmsGateway
    from eid.notify.smtp import SmtpEmailSender

    channels = Channels(
        email=SmtpEmailSender(peers.smtp.host, peers.smtp.port, get_settings().smtp_from),
        sms=HttpSmsGateway(peers.sms.url, timeout=5),
    )
    return build_ports(matcher=EngineMatcher(engine), channels=channels)


@pytest.fixture
def ports(_peers: Peers, bio_engine: BiometricEngine) -> Ports:
    """This test's ports, as `eid serve` builds them: email and SMS to the local peers, the
    session's biometric engine, and a 1:N index of its own, so that no test finds a face
    another test enrolled (the gallery rows themselves go with `db`'s rollback or
    `committed`'s truncation)."""
    return _build_ports(_peers, bio_engine)


@pytest.fixture(scope="session")
def _worker(engine: Engine, _peers: Peers, bio_engine: BiometricEngine) -> Iterator[WorkerThread]:
    from eid.app import import_all_tasks

    import_all_tasks()
    with WorkerThread(_build_ports(_peers, bio_engine)) as worker:
        worker.pause()  # runs only for a test that asks for it, with that test's ports
        yield worker


@pytest.fixture
def worker_thread(_worker: WorkerThread, ports: Ports, committed: Engine) -> Iterator[WorkerThread]:
    """The job worker running in this process with this test's ports; paused again (between
    two jobs) before `committed` empties the tables."""
    _worker.use(ports)
    yield _worker
    _worker.pause()


@pytest.fixture(scope="session")
def _live(engine: Engine, _peers: Peers, bio_engine: BiometricEngine) -> Iterator[LiveServer]:
    from eid.app import create_app

    with LiveServer(create_app(ports=_build_ports(_peers, bio_engine))) as server:
        yield server


@pytest.fixture
def live(_live: LiveServer, ports: Ports, committed: Engine) -> Iterator[str]:
    """The real app under uvicorn on a free port, serving with this test's ports, `EID_ISSUER`
    its own address; its URL. Ask for `worker_thread` too when jobs must run."""
    from eid.identity import keys

    _live.use(ports)
    keys.forget_active_key()  # the cached key's row went with the previous test's truncation
    previous = os.environ.get("EID_ISSUER")
    os.environ["EID_ISSUER"] = _live.url
    get_settings.cache_clear()
    yield _live.url
    if previous is None:
        os.environ.pop("EID_ISSUER", None)
    else:
        os.environ["EID_ISSUER"] = previous
    get_settings.cache_clear()
    keys.forget_active_key()


@pytest.fixture
def live_localhost(live: str) -> Iterator[str]:
    """The live server as `http://localhost:<port>`, `EID_ISSUER` to match: WebAuthn takes no IP
    address as relying party id (Chromium: "This is an invalid domain"), so browser tests with
    passkeys (`tests.web.browser.add_virtual_authenticator`) open their pages here."""
    url = live.replace("://127.0.0.1:", "://localhost:")
    os.environ["EID_ISSUER"] = url
    get_settings.cache_clear()
    yield url
    os.environ["EID_ISSUER"] = live
    get_settings.cache_clear()


@pytest.fixture
def own_keys(tmp_path: Path) -> Iterator[Path]:
    """A copy of the test keys for a test that rotates or retires them (the live server and
    worker run in this process and follow it), so the session's keys stay as they were."""
    from eid.core.crypto import DATA_RING, get_keystore

    get_keystore().keyring(DATA_RING)  # the data ring exists before it is copied
    original = os.environ["EID_KEYS_DIR"]
    folder = tmp_path / "keys"
    shutil.copytree(original, folder)
    os.environ["EID_KEYS_DIR"] = str(folder)
    get_settings.cache_clear()
    get_keystore.cache_clear()
    yield folder
    os.environ["EID_KEYS_DIR"] = original
    get_settings.cache_clear()
    get_keystore.cache_clear()
