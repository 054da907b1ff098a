"""Two database roles: the owner runs the migrations, the application only reads and writes rows.

The owner owns every table, sequence and function (so it alone can run DDL, disable triggers or
truncate). The application role is a plain login: not a superuser (so it cannot set
`session_replication_role` to skip triggers), no CREATE on the database or the schema, no
temporary tables, and on the audit tables only SELECT and INSERT. A SQL injection or a stolen
application password can then add to the audit log but never rewrite it.

Grants are re-applied by the migration environment after every upgrade (`apply_grants`): one list
here says what the application may do, and a table added by a later migration gets it on the
same run, with no separate step to forget.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

# Tables the application may only read and append to: the audit log, its chain and checkpoints.
APPEND_ONLY_TABLES = ("audit_events", "audit_checkpoints")
# Columns of an append-only table that only the database fills in (the application may not).
DATABASE_STAMPED = {"audit_events": ("id", "at")}
# Written only by the owner's SECURITY DEFINER chain trigger; the application reads it.
READ_ONLY_TABLES = ("audit_chain", "alembic_version")

# Tables the application deletes rows from: expired holder challenges, sessions, OIDC codes and
# tokens, spent verifier nonces, a withdrawn calendar override, finished jobs (pruned). Any other
# table: no DELETE, so a stray or injected DELETE fails instead of erasing a record. A new purge
# adds its table here (its test fails with "permission denied" until it does).
PURGED_TABLES = (
    "holder_challenges",
    "holder_passkey_ceremonies",
    "holder_sessions",
    "oidc_authorization_codes",
    "oidc_tokens",
    "wallet_verifier_nonces",
    "wallet_card_links",  # the card QR's short links, minutes after they expire
    "wallet_vci_nonces",  # OpenID4VCI c_nonces, an hour after they expire
    "wallet_vci_offers",  # OpenID4VCI credential offers, an hour after they expire
    "calendar_overrides",
    "jobs",
    "workers",  # a worker that stops says so; long-gone workers are pruned
    "throttle_buckets",  # rate buckets whose time has passed (core.throttle)
    "oidc_pushed_requests",  # PAR request_uris a day past their expiry
    "oidc_spent_jtis",  # single-use JWT ids once their JWTs are too old anyway
    "oid4vp_requests",  # OpenID4VP requests and their results, minutes after they expire
)

# Serialises role creation when several processes start on one embedded cluster at once.
_PROVISION_LOCK = 0x6549_4452  # "eIDR"


@dataclass(frozen=True)
class DatabaseRoles:
    owner: str
    app: str
    owner_url: str
    app_url: str


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def provision(
    admin_url: str, database: str, *, owner: str, app: str, with_passwords: bool
) -> DatabaseRoles:
    """Create (or bring up to date) the database with its owner and application roles.

    `admin_url` is a superuser on the server. Idempotent: a database
    made before roles existed (tables owned by the admin) is handed over to the owner. Without
    passwords the roles log in only where pg_hba trusts them (the embedded cluster's socket,
    reachable by this OS user alone)."""
    admin = make_url(admin_url)
    owner_password = secrets.token_urlsafe(24) if with_passwords else None
    app_password = secrets.token_urlsafe(24) if with_passwords else None
    server = create_engine(
        admin.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    in_db = create_engine(
        admin.set(database=database).render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with server.connect() as conn:
            # Held to the end: two processes starting at once would otherwise race on the same
            # catalog rows ("tuple concurrently updated").
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PROVISION_LOCK})
            try:
                for role, password in ((owner, owner_password), (app, app_password)):
                    _ensure_role(conn, role, password)
                exists = conn.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": database}
                ).scalar()
                if not exists:
                    conn.execute(text(f"CREATE DATABASE {_quote(database)} OWNER {_quote(owner)}"))
                else:
                    conn.execute(
                        text(f"ALTER DATABASE {_quote(database)} OWNER TO {_quote(owner)}")
                    )
                # PUBLIC gets CONNECT and TEMPORARY on a new database by default: the
                # application gets CONNECT alone (temporary tables are DDL too).
                conn.execute(text(f"REVOKE ALL ON DATABASE {_quote(database)} FROM PUBLIC"))
                conn.execute(text(f"GRANT CONNECT ON DATABASE {_quote(database)} TO {_quote(app)}"))
                with in_db.connect() as db:
                    db.execute(text(f"ALTER SCHEMA public OWNER TO {_quote(owner)}"))
                    # Before PostgreSQL 15 every role may create tables in `public`.
                    db.execute(text("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
                    db.execute(text(f"GRANT USAGE ON SCHEMA public TO {_quote(app)}"))
                    _hand_over(db, owner)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PROVISION_LOCK})
    finally:
        server.dispose()
        in_db.dispose()
    base = admin.set(database=database)
    return DatabaseRoles(
        owner=owner,
        app=app,
        owner_url=base.set(username=owner, password=owner_password).render_as_string(
            hide_password=False
        ),
        app_url=base.set(username=app, password=app_password).render_as_string(hide_password=False),
    )


def _ensure_role(conn: Connection, role: str, password: str | None) -> None:
    attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
    if password is not None:
        attributes += f" PASSWORD {_literal(password)}"
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar()
    verb = "ALTER" if exists else "CREATE"
    conn.execute(text(f"{verb} ROLE {_quote(role)} {attributes}"))


def _hand_over(conn: Connection, owner: str) -> None:
    """Objects in `public` made before the roles existed (an older embedded database) pass to
    the owner, so the application role owns nothing and the owner can migrate them."""
    for kinds, keyword in ((["r", "p", "v", "m"], "TABLE"), (["S"], "SEQUENCE")):
        names = conn.execute(
            text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind::text = ANY(:kinds) "
                "AND pg_get_userbyid(c.relowner) <> :o"
            ),
            {"o": owner, "kinds": kinds},
        ).scalars()
        for name in list(names):
            conn.execute(text(f"ALTER {keyword} public.{_quote(name)} OWNER TO {_quote(owner)}"))
    functions = conn.execute(
        text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> :o"
        ),
        {"o": owner},
    ).scalars()
    for function in list(functions):
        conn.execute(text(f"ALTER FUNCTION {function} OWNER TO {_quote(owner)}"))


def drop_roles(admin_url: str, *roles: str) -> None:
    """Drop roles whose database is gone (tests, scratch databases)."""
    engine = create_engine(
        make_url(admin_url).set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with engine.connect() as conn:
            for role in roles:
                conn.execute(text(f"DROP ROLE IF EXISTS {_quote(role)}"))
    finally:
        engine.dispose()


def apply_grants(conn: Connection, app: str) -> None:
    """What the application role may do, in the current database (run as the owner)."""
    role = _quote(app)
    tables = conn.execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
        )
    ).scalars()
    conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
    for table in list(tables):
        name = f"public.{_quote(table)}"
        conn.execute(text(f"REVOKE ALL ON {name} FROM {role}"))
        if table in DATABASE_STAMPED:
            # The row's id and time come from the database alone: the application cannot
            # back-date an event or slip one in between existing ids.
            columns = conn.execute(
                text(
                    "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
                    "AND attnum > 0 AND NOT attisdropped AND attname <> ALL(:stamped) "
                    "ORDER BY attnum"
                ),
                {"t": name, "stamped": list(DATABASE_STAMPED[table])},
            ).scalars()
            privileges = f"SELECT, INSERT ({', '.join(_quote(c) for c in columns)})"
        elif table in APPEND_ONLY_TABLES:
            privileges = "SELECT, INSERT"
        elif table in READ_ONLY_TABLES:
            privileges = "SELECT"
        elif table in PURGED_TABLES:
            privileges = "SELECT, INSERT, UPDATE, DELETE"
        else:
            privileges = "SELECT, INSERT, UPDATE"
        conn.execute(text(f"GRANT {privileges} ON {name} TO {role}"))
    # nextval() for the identity columns of the tables it may insert into.
    conn.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}"))


def least_privilege_problems(conn: Connection) -> list[str]:
    """Why the connected role is more powerful than the application should be (empty: fine)."""
    problems: list[str] = []
    row = conn.execute(
        text(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
            "WHERE rolname = current_user"
        )
    ).one()
    for flag, name in zip(row, ("SUPERUSER", "CREATEROLE", "CREATEDB", "BYPASSRLS"), strict=True):
        if flag:
            problems.append(f"the application's database role has {name}")
    owned = conn.execute(
        text(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relowner = "
            "(SELECT oid FROM pg_roles WHERE rolname = current_user)"
        )
    ).scalar_one()
    if owned:
        problems.append(f"the application's database role owns {owned} tables or sequences")
    can_rewrite = conn.execute(
        text(
            "SELECT to_regclass('public.audit_events') IS NOT NULL AND ("
            "has_table_privilege('public.audit_events', 'UPDATE') OR "
            "has_table_privilege('public.audit_events', 'DELETE') OR "
            "has_table_privilege('public.audit_events', 'TRUNCATE'))"
        )
    ).scalar_one()
    if can_rewrite:
        problems.append("the application's database role may change or delete audit rows")
    return problems
