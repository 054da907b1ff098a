"""`eid`: serve, worker, migrate, officers, the reference registry, relying parties, demo."""

from __future__ import annotations

import json
import logging
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from eid.core.audit import Actor

if TYPE_CHECKING:
    from eid.core.settings import Settings

app = typer.Typer(
    help="eid: Level-2 e-ID for foreign residents of Viet Nam",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
officer_app = typer.Typer(help="Officer accounts", no_args_is_help=True)
registry_app = typer.Typer(help="The reference immigration database", no_args_is_help=True)
client_app = typer.Typer(help="Relying parties (OpenID Connect clients)", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log's hash chain and checkpoints", no_args_is_help=True)
app.add_typer(officer_app, name="officer")
app.add_typer(registry_app, name="registry")
app.add_typer(client_app, name="client")
app.add_typer(audit_app, name="audit")

CLI_ACTOR = Actor(kind="system", id="cli", role="admin")


def _logging(*, service: bool = False) -> None:
    """Services (serve, worker) write one JSON object per line (EID_JSON_LOGS, default on), for
    a log collector; one-off commands write plain lines for the person at the terminal."""
    from eid.core.settings import get_settings

    if service and get_settings().json_logs:
        from eid.core.observability import configure_json_logging

        configure_json_logging()
    else:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    # Chatty at INFO: faiss's loader reports each CPU-specific module it does not ship (1.15
    # dispatches AVX2/AVX-512 inside one library), alembic every plugin it sets up.
    for noisy in ("faiss.loader", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _echo(data: object) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


@app.command()
def migrate() -> None:
    """Apply the database migrations."""
    _logging()
    from eid.bootstrap import migrate as run

    run()
    typer.echo("database is at the latest schema")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    worker: Annotated[
        bool | None,
        typer.Option(help="run the job worker inside the server (default: with one process)"),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="server processes on one port; above 1, run `eid worker` beside them"
        ),
    ] = 1,
) -> None:
    """Run the HTTP server (with its worker): migrates, and seeds in development."""
    if workers > 1 and worker:
        raise typer.BadParameter(
            "the job worker runs in no server process with --workers: run `eid worker` beside"
        )
    _logging(service=True)
    import uvicorn

    from eid.app import create_app
    from eid.bootstrap import (
        check_database_role,
        migrates_at_start,
        require_keys,
        seed_development,
    )
    from eid.bootstrap import migrate as run_migrate
    from eid.core.embedded_supervisor import supervise_embedded
    from eid.core.settings import get_settings
    from eid.wiring import build_ports
    from eid.worker import start_embedded

    settings = get_settings()
    bind_host, bind_port = host or settings.host, port or settings.port
    if "EID_ISSUER" not in os.environ:
        # Development default: the issuer is where this server listens.
        os.environ["EID_ISSUER"] = f"http://{bind_host}:{bind_port}"
        get_settings.cache_clear()
        settings = get_settings()
    if migrates_at_start(settings):
        run_migrate()
    check_database_role(settings)
    supervise_embedded()  # the laptop path: restart our own PostgreSQL if it dies
    require_keys(settings)
    creds = seed_development(settings)
    if creds:
        typer.echo(
            f"\nDemo officer: {creds['username']} (password and TOTP secret in "
            f"{settings.data_dir / 'demo-officer.json'}); try: eid officer code\n"
        )
    if workers > 1:
        _serve_processes(settings, bind_host, bind_port, workers)
        return
    ports = build_ports(settings)  # one set for the server and its embedded worker
    if worker is not False and settings.embedded_worker:
        start_embedded(settings.worker_concurrency, ports)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it; with the default action the
    # process would die without its exit handlers, which stop the embedded PostgreSQL.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    # Our request log replaces uvicorn's access log (raw paths and query strings can carry
    # personal data); log_config=None leaves uvicorn's loggers to the JSON root handler.
    uvicorn.run(
        create_app(ports=ports),
        host=bind_host,
        port=bind_port,
        log_level="info",
        log_config=None if settings.json_logs else uvicorn.config.LOGGING_CONFIG,
        access_log=False,
    )


def _serve_processes(settings: Settings, host: str, port: int, processes: int) -> None:
    """`--workers N`: uvicorn spawns N processes that each build the app, and their metrics are
    summed at each scrape (eid.serving)."""
    import uvicorn

    from eid.core.database import database_url, get_engine
    from eid.serving import run_processes, share_database, warn_about_connections

    share_database(database_url(settings))
    warn_about_connections(settings, processes)
    get_engine().dispose()  # the processes open their own; the supervisor needs none
    logging.getLogger(__name__).info(
        "%d server processes, no job worker among them: run `eid worker` beside", processes
    )
    run_processes(
        host,
        port,
        processes,
        log_config=None if settings.json_logs else uvicorn.config.LOGGING_CONFIG,
    )


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


@app.command()
def worker(concurrency: Annotated[int, typer.Option()] = 2) -> None:
    """Run the durable job worker."""
    _logging(service=True)
    from eid.bootstrap import check_database_role, require_keys
    from eid.core.settings import get_settings
    from eid.worker import run_worker

    check_database_role(get_settings())
    require_keys(get_settings())

    run_worker(concurrency)


@officer_app.command("create")
def officer_create(
    username: Annotated[str, typer.Option()],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    office: Annotated[str, typer.Option()],
    role: Annotated[str, typer.Option()] = "officer",
) -> None:
    """Create an officer; prints JSON with the TOTP secret to load into an authenticator."""
    from eid.core.database import unit_of_work
    from eid.staff.service import create_officer

    with unit_of_work() as session:
        made = create_officer(
            session, username=username, password=password, office=office, role=role, actor=CLI_ACTOR
        )
    _echo(made.__dict__)


@officer_app.command("code")
def officer_code(secret: Annotated[str | None, typer.Option()] = None) -> None:
    """Print the current TOTP code for a secret (default: the development demo officer's)."""
    from eid.core.settings import get_settings
    from eid.staff.service import current_totp

    if secret is None:
        creds = json.loads((get_settings().data_dir / "demo-officer.json").read_text())
        secret = creds["totp_secret"]
    typer.echo(current_totp(secret))


@registry_app.command("add")
def registry_add(file: Path) -> None:
    """Put one person (DESIGN.md §3 JSON) into the reference immigration database."""
    from eid.core.database import unit_of_work
    from eid.registry.service import add_person_from_file

    with unit_of_work() as session:
        person_id = add_person_from_file(session, file, actor=CLI_ACTOR)
    _echo({"person_ref": str(person_id)})


@registry_app.command("seed")
def registry_seed(
    count: Annotated[int, typer.Option()] = 40,
    data: Annotated[Path | None, typer.Option(help="shared biometric data folder")] = None,
    seed: Annotated[int, typer.Option()] = 2025,
) -> None:
    """Synthetic people: valid ICAO passports, a realistic mix, some with biometrics on file."""
    from eid.bootstrap import shared_data_dir
    from eid.calendar.service import seed_overrides
    from eid.core.database import unit_of_work
    from eid.registry.seed import seed as run_seed

    with unit_of_work() as session:
        seed_overrides(session)
        people = run_seed(
            session, count=count, data_dir=data or shared_data_dir(), actor=CLI_ACTOR, rng_seed=seed
        )
    _echo(
        {
            "seeded": len(people),
            "with_biometrics": sum(p.with_biometrics for p in people),
            "card_expired": sum(p.card_expired for p in people),
            "examples": [p.passport_number for p in people[:5]],
        }
    )


@registry_app.command("event")
def registry_event(
    passport: Annotated[str, typer.Option()],
    kind: Annotated[
        str,
        typer.Option(
            help="card_renewed, card_expired, passport_replaced, passport_expired, exit, death"
        ),
    ],
    new_expiry: Annotated[str | None, typer.Option()] = None,
    new_number: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Record a status change in the reference immigration database's feed."""
    from eid.core.database import unit_of_work
    from eid.registry.schemas import EventIn
    from eid.registry.service import record_event

    event = EventIn.model_validate(
        {
            "passport_number": passport,
            "kind": kind,
            "new_expiry_date": new_expiry,
            "new_number": new_number,
        }
    )
    with unit_of_work() as session:
        cursor = record_event(session, event, actor=CLI_ACTOR)
    _echo({"event": cursor})


@client_app.command("create")
def client_create(
    name: Annotated[str, typer.Option()],
    redirect_uri: Annotated[list[str], typer.Option()],
    scopes: Annotated[str, typer.Option()],
    purpose: Annotated[str, typer.Option()],
    post_logout_redirect_uri: Annotated[
        list[str] | None,
        typer.Option(help="where RP-initiated logout may send the holder back; repeatable"),
    ] = None,
    profile: Annotated[
        str,
        typer.Option(
            help="basic (client secret), fapi2 (FAPI 2.0: PAR, private_key_jwt, DPoP) or wallet "
            "(an OpenID4VCI wallet: public client, PKCE, credential scopes only)"
        ),
    ] = "basic",
    jwks: Annotated[
        Path | None,
        typer.Option(help="file with the client's public JWKS (private_key_jwt, request objects)"),
    ] = None,
    jwks_uri: Annotated[
        str | None, typer.Option(help="https URL of the client's public JWKS")
    ] = None,
) -> None:
    """Register a relying party under its agreement's scopes and purpose. With --jwks or
    --jwks-uri it authenticates with private_key_jwt and gets no secret."""
    from eid.core.database import unit_of_work
    from eid.identity.service import create_client

    key_set = None
    if jwks is not None:
        try:
            key_set = json.loads(jwks.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise typer.BadParameter(f"cannot read the JWKS: {error}") from error
    with unit_of_work() as session:
        client_id, secret = create_client(
            session,
            name=name,
            redirect_uris=list(redirect_uri),
            scopes=scopes.split(),
            purpose=purpose,
            actor=CLI_ACTOR,
            post_logout_redirect_uris=list(post_logout_redirect_uri or []),
            profile=profile,
            jwks=key_set,
            jwks_uri=jwks_uri,
        )
    out: dict[str, object] = {"client_id": client_id, "profile": profile}
    if secret is not None:
        out["client_secret"] = secret
    _echo(out)


jobs_app = typer.Typer(help="The durable job queue and its dead letters", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("list")
def jobs_list(limit: Annotated[int, typer.Option()] = 100) -> None:
    """Jobs per status, and the dead-lettered ones (out of attempts) with their reasons."""
    from eid.core import jobs
    from eid.core.database import unit_of_work

    with unit_of_work() as session:
        counts = jobs.queue_counts(session)
        dead = [
            {
                "id": job.id,
                "task": job.task,
                "attempts": job.attempts,
                "last_error": job.last_error,
                "finished_at": job.finished_at,
            }
            for job in jobs.dead_letters(session, limit=limit)
        ]
    _echo({"counts": counts, "dead": dead})


@jobs_app.command("retry")
def jobs_retry(job_id: int) -> None:
    """Put a dead job back in the queue with a fresh set of attempts."""
    from eid.core import audit, jobs
    from eid.core.database import unit_of_work
    from eid.core.errors import NotFound

    with unit_of_work() as session:
        if not jobs.retry_dead(session, job_id):
            raise NotFound("no dead job %(id)s", code="JOB_NOT_DEAD", params={"id": job_id})
        audit.record(session, CLI_ACTOR, "job.retried", "job", str(job_id))
    _echo({"retried": job_id})


oidc_app = typer.Typer(help="The OpenID Connect provider's signing keys", no_args_is_help=True)
app.add_typer(oidc_app, name="oidc")


@oidc_app.command("rotate-key")
def oidc_rotate_key(
    activate: Annotated[
        bool,
        typer.Option(
            "--activate",
            help="let the published next key sign now (once it has been in the JWKS longer "
            "than its max-age), instead of publishing a new one",
        ),
    ] = False,
) -> None:
    """Publish a next signing key: it signs only once every cached JWKS has expired (its
    `signs_from`); the old key signs until then and stays published until its tokens expire."""
    from eid.core.database import unit_of_work
    from eid.identity.keys import activate_next, rotate

    with unit_of_work() as session:
        key = (
            activate_next(session, actor=CLI_ACTOR)
            if activate
            else rotate(session, actor=CLI_ACTOR)
        )
        answer = {"kid": key.kid, "signs_from": key.signs_from.isoformat()}
    _echo(answer)


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[
        list[str] | None,
        typer.Option(
            help="ROWS:HEX, a chain head kept outside the database (the worker logs one per "
            "checkpoint; verify prints the current one); repeatable"
        ),
    ] = None,
) -> None:
    """Recompute the audit chain and check its signed checkpoints: exit 0 when intact, else 1
    with the first edited, deleted, inserted or reordered row named by id."""
    from sqlalchemy.orm import Session

    from eid.core.audit_chain import CHECKPOINT_EVERY, describe, parse_anchor, verify
    from eid.core.crypto import get_keystore
    from eid.core.database import get_engine

    # One snapshot for the whole walk: rows committing meanwhile are simply not seen yet.
    with (
        get_engine().connect().execution_options(isolation_level="REPEATABLE READ") as conn,
        Session(bind=conn) as session,
    ):
        report = verify(
            session,
            get_keystore(),
            anchors=[parse_anchor(a) for a in anchor or []],
            checkpoint_every=CHECKPOINT_EVERY,
        )
    _echo(describe(report))
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the chain's head now (the worker does it every ten minutes)."""
    from eid.core.audit_chain import write_checkpoint
    from eid.core.crypto import get_keystore
    from eid.core.database import unit_of_work

    with unit_of_work() as session:
        made = write_checkpoint(session, get_keystore())
        result = {"rows": made.seq, "head": made.head_hash.hex()} if made else None
    _echo({"checkpoint": result})


keys_app = typer.Typer(
    help="The key folder: init, check; keyrings and signing keys: rotate, reseal, retire; the "
    "card's issuing "
    "certificates: issuing, revoke-issuing, reissue-root",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")
RING_HELP = (
    "personal-data (seals the personal data columns), blind-index (computes the look-up "
    "indexes) or data (seals biometrics, secrets, notification bodies, queued requests); or a "
    "signing key: immigration (account requests), eid-authority (decisions), audit-checkpoint "
    "(the audit chain's checkpoints), wallet-issuer (the first EdDSA cards)"
)


def _ring(name: str) -> str:
    from eid.core.keyset import spec_of

    spec = spec_of(name)
    if spec is None or spec.kind not in ("keyring", "signing"):
        raise typer.BadParameter(f"unknown keyring {name!r}: {RING_HELP}")
    return name


def _is_signing(name: str) -> bool:
    from eid.core.keyset import spec_of

    spec = spec_of(name)
    return spec is not None and spec.kind == "signing"


@keys_app.command("rotate")
def keys_rotate(ring: Annotated[str, typer.Option(help=RING_HELP)]) -> None:
    """A new current key: new values use it at once (running processes notice the file change);
    run `eid keys reseal` for the old rows. A signing key's older keys keep verifying what they
    signed until retired."""
    from eid.core import audit
    from eid.core.crypto import get_keystore
    from eid.core.database import unit_of_work
    from eid.core.keyset import load, spec_of

    spec = spec_of(_ring(ring))
    assert spec is not None
    keystore = get_keystore()
    load(keystore, spec)  # exists and is what it should be (a signing ring stays one)
    key_id = keystore.rotate(ring)
    with unit_of_work() as session:
        audit.record(session, CLI_ACTOR, "keys.rotated", "keyring", ring, details={"key": key_id})
    _echo({"ring": ring, "current": key_id})


@keys_app.command("reseal")
def keys_reseal(batch_size: Annotated[int, typer.Option(min=1)] = 500) -> None:
    """Re-seal every personal-data column, recompute every blind index and re-seal every other
    sealed value (biometrics, secrets, ...) under the current keys, in batches; safe to
    interrupt and to run again."""
    _logging()
    from eid.core import audit
    from eid.core.database import get_engine, session_factory, unit_of_work
    from eid.core.sealed import reseal
    from eid.core.sealed_blobs import load_registrations, reseal_blobs

    load_registrations()
    get_engine()
    reports = reseal(session_factory(), batch_size=batch_size)
    blob_reports = reseal_blobs(session_factory(), batch_size=batch_size)
    changed = {r.table: r.rows_changed for r in reports}
    for b in blob_reports:
        changed[f"{b.table}.{b.column}"] = b.rows_changed
    with unit_of_work() as session:
        audit.record(session, CLI_ACTOR, "keys.resealed", "keyring", "all", details=changed)
    _echo([r.__dict__ for r in reports] + [b.__dict__ for b in blob_reports])


@keys_app.command("retire")
def keys_retire(
    ring: Annotated[str, typer.Option(help=RING_HELP)],
    key: Annotated[str, typer.Option(help="key id to remove")],
) -> None:
    """Remove an old key, once no row needs it any more (else KEY_IN_USE). A signing key: once
    nothing it signed still needs verifying (never, for a key that signed audit checkpoints)."""
    from eid.core import audit
    from eid.core.crypto import DATA_RING, get_keystore
    from eid.core.database import unit_of_work
    from eid.core.errors import EidError
    from eid.core.keyset import load_key_uses, signing_key_use
    from eid.core.sealed import rows_under_key
    from eid.core.sealed_blobs import blobs_under_key, load_registrations

    load_registrations()
    load_key_uses()
    with unit_of_work() as session:
        if _is_signing(_ring(ring)):
            get_keystore().signing_ring(ring).key(key)  # KEY_MISSING for an unknown id
            refusal = signing_key_use(session, ring, key)
            if refusal is not None:
                raise refusal
            left = 0
        elif ring == DATA_RING:
            left = blobs_under_key(session, key)
        else:
            left = rows_under_key(session, ring, key)
        if left:
            raise EidError(
                "%(count)s rows still use key %(key)s: run `eid keys reseal` first",
                code="KEY_IN_USE",
                params={"count": left, "key": key},
            )
        get_keystore().retire(ring, key)
        audit.record(session, CLI_ACTOR, "keys.retired", "keyring", ring, details={"key": key})
    _echo({"ring": ring, "retired": key})


@keys_app.command("init")
def keys_init(
    folder: Annotated[
        Path | None, typer.Option("--dir", help="the key folder (default: EID_KEYS_DIR)")
    ] = None,
) -> None:
    """Make every missing key once (folder 0700, files 0600); never replaces an existing one.
    Production never makes keys by itself: this is the operator's explicit step."""
    from eid.core.keyset import init_keys
    from eid.core.settings import get_settings

    target = folder or get_settings().resolved_keys_dir
    made, kept = init_keys(target)
    _echo({"dir": str(target), "made": made, "kept": kept})


@keys_app.command("check")
def keys_check(
    folder: Annotated[
        Path | None, typer.Option("--dir", help="the key folder (default: EID_KEYS_DIR)")
    ] = None,
) -> None:
    """The key files production checks before it starts (makes none): exit 0 when every one is
    there and usable, else 1 naming each one that is not."""
    from eid.core.crypto import FileKeyStore
    from eid.core.keyset import KEYS, problems, rings
    from eid.core.settings import get_settings

    target = folder or get_settings().resolved_keys_dir
    store = FileKeyStore(target, generate=False)
    found = problems(store)
    _echo(
        {
            "dir": str(target),
            "keys": [k.name for k in KEYS],
            "rings": rings(store),
            "problems": found,
        }
    )
    if found:
        raise typer.Exit(1)


@keys_app.command("issuing")
def keys_issuing() -> None:
    """The card's issuing (Document Signer) certificates, newest first: kid, serial, validity,
    state (signing, retired, expired, revoked) and CRL distribution point."""
    from eid.core.database import unit_of_work
    from eid.wallet import certs

    with unit_of_work() as session:
        certs.ensure_chain(session)
        _echo(certs.issuing_certificates(session))


@keys_app.command("revoke-issuing")
def keys_revoke_issuing(
    certificate: Annotated[
        str,
        typer.Argument(
            help="kid or serial (hex) of the issuing certificate, from `issuing`; a kid that "
            "starts with '-' goes after `--` (eid keys revoke-issuing --reason R -- -Kx...)"
        ),
    ],
    reason: Annotated[
        str,
        typer.Option(
            help="RFC 5280 reason: keyCompromise, superseded, cessationOfOperation, "
            "affiliationChanged, privilegeWithdrawn or unspecified"
        ),
    ],
) -> None:
    """Revoke an issuing certificate: it goes on the root's CRL and leaves the published keys;
    if it was signing, a new one signs from now on. Every card it signed then reads invalid in
    the status list and is refused by verifiers that read the CRL (eid's own at once); its
    holders are told to add their card again. Running it again changes nothing."""
    from eid.core.database import unit_of_work
    from eid.wallet import certs, service

    with unit_of_work() as session:
        done = service.revoke_issuing_certificate(session, certificate, reason, actor=CLI_ACTOR)
        _echo(
            {
                "kid": done.kid,
                "serial": done.serial,
                "reason": done.reason,
                "revoked_at": done.revoked_at.isoformat(),
                "changed": done.changed,
                "successor": done.successor,
                "crl_number": done.crl_number,
                "crl_url": certs.crl_url(),
                "live_cards_signed": done.live_cards,
            }
        )


@keys_app.command("reissue-root")
def keys_reissue_root(
    confirm: Annotated[
        bool,
        typer.Option(
            "--confirm",
            help="yes: serve a new root certificate (same key and name); verifiers that pinned "
            "the old certificate's bytes must fetch root.pem again",
        ),
    ] = False,
) -> None:
    """Re-certify the eid Root CA's key with today's Annex B extensions (the CRL distribution
    point), for a root made before the CRL existed. Same key, name and key identifier: every
    issuing certificate and card still chains to it. Nothing changes when it is already
    current."""
    from eid.core.database import unit_of_work
    from eid.wallet import certs

    if not confirm:
        raise typer.BadParameter("pass --confirm: verifiers pin the root", param_hint="--confirm")
    with unit_of_work() as session:
        done = certs.reissue_root(session, actor=CLI_ACTOR)
    _echo(done.__dict__)


@app.command()
def demo(
    applicants: Annotated[
        int,
        typer.Option(
            help="applicants walking in; the shared set holds 14 faces and 18 fingers, so past"
            " about 12 real biometrics repeat and are (rightly) held as duplicates"
        ),
    ] = 12,
    data: Annotated[Path | None, typer.Option(help="shared biometric data folder")] = None,
    keep: Annotated[bool, typer.Option(help="keep the demo's database afterwards")] = False,
) -> None:
    """A day of applications at one office, end to end, with a progress bar."""
    logging.basicConfig(level=logging.WARNING)
    from eid.bootstrap import shared_data_dir
    from eid.demo import run_demo

    folder = data or shared_data_dir(beside_package=True)
    if folder is None or not (folder / "faces" / "labels.csv").exists():
        typer.echo(
            "the demo walks real faces and fingerprints through the checks, and found none"
            + (f" in {folder}" if folder else " in shared/data beside this folder or above it")
            + ": pass --data PATH/TO/shared/data (the folder holding faces/ and fingerprints/)",
            err=True,
        )
        raise typer.Exit(2)
    import shutil
    import tempfile

    from eid.core.database import scratch_database

    # Its own fresh database on the same server, dropped afterwards: the demo's real faces
    # would otherwise be found as duplicates of the previous run's, as they should be. Its
    # messages go to a scratch outbox, never the real one nor a configured gateway.
    outbox = Path(tempfile.mkdtemp(prefix="eid-demo-outbox-"))
    try:
        with scratch_database("eid_demo", keep=keep) as url:
            run_demo(applicants, folder, outbox=outbox)
            if keep:
                typer.echo(f"demo database kept: {url}")
                typer.echo(f"demo messages kept: {outbox}")
    finally:
        if not keep:
            shutil.rmtree(outbox, ignore_errors=True)


@app.command("bio-eval")
def bio_eval(
    faces: Annotated[Path | None, typer.Option()] = None,
    fingerprints: Annotated[Path | None, typer.Option()] = None,
    json_out: Annotated[Path | None, typer.Option("--json")] = None,
    plot: Annotated[Path | None, typer.Option()] = None,
) -> None:
    """Accuracy of the biometric engine on a labelled image set (FTE, EER, FNMR at FMR, DET)."""
    from eid.biometrics.evaluation import main_bio_eval

    raise typer.Exit(main_bio_eval(faces, fingerprints, json_out, plot))


def main() -> None:
    """Errors an operator can act on print as `CODE: message`, not as a traceback; the message
    in the operator's locale (LC_ALL, LC_MESSAGES, LANG: Vietnamese or English)."""
    import os

    from eid.core.errors import EidError
    from eid.i18n import OFFICER_LANGUAGES, negotiate

    try:
        app()
    except EidError as exc:
        locale = (os.environ.get(name) for name in ("LC_ALL", "LC_MESSAGES", "LANG"))
        language = negotiate(*(tag.split(".")[0] for tag in locale if tag), among=OFFICER_LANGUAGES)
        typer.echo(f"error {exc.code}: {exc.message_in(language)}", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
