"""First start: migrate, and in development seed a registry and a demo officer to walk with."""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path

from sqlalchemy import Engine, func, select

from eid.core.audit import Actor
from eid.core.database import (
    application_role,
    get_engine,
    migration_database_url,
    unit_of_work,
)
from eid.core.errors import EidError
from eid.core.roles import least_privilege_problems
from eid.core.schema import upgrade
from eid.core.settings import Settings

log = logging.getLogger(__name__)


def shared_data_candidates(*, beside_package: bool = False) -> list[Path]:
    """Where the shared face and fingerprint set may be: `shared/data` in the working
    directory or any folder above it; with `beside_package`, also beside the installed package
    or any folder above it (a checkout next to `../shared`, run from anywhere: `eid demo`).
    The development seed of `eid serve` looks only from the working directory, so a server
    started elsewhere seeds a small registry without images, quickly."""
    starts = [Path.cwd(), *([Path(__file__).resolve().parent] if beside_package else [])]
    found: list[Path] = []
    for start in starts:
        for folder in (start, *start.parents):
            candidate = folder / "shared" / "data"
            if candidate not in found:
                found.append(candidate)
    return found


def shared_data_dir(*, beside_package: bool = False) -> Path | None:
    return next(
        (
            p
            for p in shared_data_candidates(beside_package=beside_package)
            if (p / "faces" / "labels.csv").exists()
        ),
        None,
    )


def migrate() -> None:
    """Migrate as the owner role; the application role gets its grants in the same run."""
    upgrade(migration_database_url(), app_role=application_role())


def migrates_at_start(settings: Settings) -> bool:
    """`eid serve` migrates first, except in production without the owner's URL: there the
    server holds only the application role and `eid migrate` is the operator's own step."""
    return settings.env != "production" or bool(settings.migration_database_url)


def check_database_role(settings: Settings, engine: Engine | None = None) -> None:
    """Refuse (in production) or warn when the application connects with more power than it
    needs: a superuser or table owner could switch off the audit log's triggers and rewrite it."""
    with (engine or get_engine()).connect() as conn:
        problems = least_privilege_problems(conn)
    if not problems:
        return
    if settings.env == "production":
        raise EidError(
            "%(problems)s: connect as the application role (see README, Configuration)",
            code="DATABASE_ROLE_TOO_POWERFUL",
            params={"problems": "; ".join(problems)},
        )
    log.warning("database role: %s (refused in production)", "; ".join(problems))


def require_keys(settings: Settings) -> None:
    """Production starts only with every key (eid.core.keyset, and the OIDC provider's in the
    database), else refuses naming each one missing or unusable; it never makes one.
    Development makes the missing ones now, in the starting process, so that several server or
    worker processes never race to create the same key."""
    from eid.core import keyset
    from eid.core.crypto import keystore_from_settings
    from eid.identity.keys import active_key, active_key_problem

    keystore = keystore_from_settings(settings)
    if settings.env != "production":
        keyset.problems(keystore)  # makes what is missing
        with unit_of_work() as session:
            active_key(session)
        return
    problems = keyset.problems(keystore)
    if not problems:  # the OIDC keys are sealed with the data key: it must be readable first
        with unit_of_work() as session:
            oidc = active_key_problem(session)
        problems += [oidc] if oidc else []
    if problems:
        raise EidError(
            "production does not start without its keys; missing or unusable: %(keys)s. An "
            "operator makes the key files once with `eid keys init --dir %(folder)s`, and the "
            "first OpenID Connect signing key with `eid oidc rotate-key`",
            code="KEYS_MISSING",
            params={"keys": ", ".join(problems), "folder": str(settings.resolved_keys_dir)},
        )


def seed_development(settings: Settings) -> dict[str, object] | None:
    """Seed once, in development only; writes the demo officer's credentials to the data dir."""
    from eid.calendar.service import seed_overrides
    from eid.registry.models import RegistryPerson
    from eid.registry.seed import seed
    from eid.staff.service import create_officer

    if settings.env == "production":
        return None
    creds_file = settings.data_dir / "demo-officer.json"
    with unit_of_work() as session:
        seed_overrides(session)
        if session.execute(select(func.count()).select_from(RegistryPerson)).scalar_one():
            return json.loads(creds_file.read_text()) if creds_file.exists() else None
        system = Actor.system("bootstrap")
        password = secrets.token_urlsafe(12) + "-Aa1!"  # random per machine, never in the repo
        people = seed(session, count=40, data_dir=shared_data_dir(), actor=system)
        officer = create_officer(
            session,
            username="demo.officer",
            password=password,
            office="HN-01",
            role="supervisor",
            actor=system,
        )
    creds = {
        "username": officer.username,
        "password": password,
        "totp_secret": officer.totp_secret,
        "office": officer.office,
        "seeded_people": len(people),
        "example_passports": [p.passport_number for p in people[:5]],
    }
    creds_file.parent.mkdir(parents=True, exist_ok=True)
    creds_file.write_text(json.dumps(creds, indent=2))
    creds_file.chmod(0o600)
    log.info(
        "development seed: %d registry people; demo officer credentials in %s",
        len(people),
        creds_file,
    )
    return creds
