"""`eid demo`: one office's day, end to end, through the real services, queue and database."""

from __future__ import annotations

import random
import secrets
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from eid.app import import_all_tasks
from eid.core import clock
from eid.core.audit import Actor
from eid.core.database import unit_of_work
from eid.core.errors import EidError
from eid.core.jobs import Worker
from eid.enrolment import service as enrolment
from eid.enrolment.consent import CURRENT_VERSION
from eid.enrolment.schemas import TK01, ConsentIn
from eid.i18n import FALLBACK
from eid.registry.seed import biometric_pool, seed
from eid.staff.service import create_officer
from eid.wiring import build_ports

console = Console()


def _form(person: Any, rng: random.Random) -> TK01:
    phone = f"+8491{rng.randint(1000000, 9999999)}"
    guardian = (
        {
            "full_name": "GUARDIAN OF " + person.full_name,
            "relation": "mother",
            "document_number": f"G{rng.randint(10**7, 10**8 - 1)}",
            "phone": phone,
        }
        if _minor(person)
        else None
    )
    return TK01.model_validate(
        {
            "full_name": person.full_name,
            "date_of_birth": person.date_of_birth.isoformat(),
            "sex": person.sex,
            "nationality": person.nationality,
            "passport": {
                "number": person.passport.number,
                "type": person.passport.type,
                "issuing_state": person.passport.issuing_state,
                "issue_date": person.passport.issue_date.isoformat(),
                "expiry_date": person.passport.expiry_date.isoformat(),
            },
            "residence_card": {
                "number": person.residence_card.number,
                "kind": person.residence_card.kind,
                "expiry_date": person.residence_card.expiry_date.isoformat(),
            },
            "address": f"{rng.randint(1, 200)} Kim Ma, Ba Dinh, Ha Noi",
            "phone": phone,
            "guardian": guardian,
            "email": f"applicant{rng.randint(1000, 9999)}@example.test",
            "language": rng.choice(["vi", "en", "ko", "zh"]),
        }
    )


def run_demo(applicants: int, data_dir: Path, *, outbox: Path) -> None:
    """The day at one office; its SMS and email become files under `outbox` (the caller's
    scratch folder), whatever gateway the settings name."""
    from eid.core.settings import get_settings
    from eid.notify.local_outbox import LocalOutboxEmailSender, LocalOutboxSmsGateway
    from eid.notify.ports import Channels

    import_all_tasks()
    channels = Channels(
        email=LocalOutboxEmailSender(outbox / "email", get_settings().smtp_from),
        sms=LocalOutboxSmsGateway(outbox / "sms"),
    )
    # The day's one engine and 1:N index, for the counter and the worker.
    ports = build_ports(channels=channels)
    rng = random.Random()  # noqa: S311 - synthetic applicants
    office = f"DEMO-{secrets.token_hex(2).upper()}"
    system = Actor.system("demo")
    faces, fingers = biometric_pool(data_dir)
    with unit_of_work() as session:
        from eid.calendar.service import seed_overrides

        seed_overrides(session)
        people = seed(
            session,
            count=applicants,
            data_dir=data_dir,
            actor=system,
            rng_seed=rng.randint(0, 10**9),
        )
        officer = create_officer(
            session,
            username=f"demo.{office.lower()}",
            password=secrets.token_urlsafe(16),
            office=office,
            role="officer",
            actor=system,
        )
    actor = Actor(kind="officer", id=officer.id, role="officer", office=office)
    spare_faces = [v for k, v in faces.items() if all(p.face_identity != k for p in people)]
    spare_fingers = [v for k, v in fingers.items() if all(k not in p.finger_ids for p in people)]
    outcomes: Counter[str] = Counter()
    refusals: Counter[str] = Counter()
    deadlines: Counter[str] = Counter()
    held: Counter[str] = Counter()
    retakes: Counter[str] = Counter()
    new_people = 0  # applicants with nothing on file so far
    repeats = {"given": 0, "held": 0}  # applicants given biometrics someone gave earlier
    worker = Worker(context=ports, name="demo")
    with Progress(console=console) as progress:
        bar = progress.add_task(f"office {office}: applicants", total=len(people))
        for seeded in people:
            progress.advance(bar)
            reused = False
            try:
                with unit_of_work() as session:
                    registry = ports.registry(session)
                    record = registry.find_by_passport(seeded.passport_number)
                    assert record is not None
                    app = enrolment.create_application(
                        session, _form(record, rng), actor=actor, registry=registry
                    )
                    app_id = app.id
                # Live captures: another photo and another impression of what is on file, or
                # (7-day path) photos and prints of someone not on file.
                if seeded.face_identity:
                    portrait = faces[seeded.face_identity][1]
                    prints = {
                        2: fingers[seeded.finger_ids[0]][1],
                        7: fingers[seeded.finger_ids[1]][1],
                    }
                else:
                    # Each 7-day applicant gets a face and two fingers nobody has given today,
                    # while the shared set has some left; after that they repeat, and a repeat
                    # is a second identity that the 1:N check must hold.
                    face_pool = spare_faces or list(faces.values())
                    finger_pool = spare_fingers or list(fingers.values())
                    face_set = face_pool[new_people % len(face_pool)]
                    fa = finger_pool[(2 * new_people) % len(finger_pool)]
                    fb = finger_pool[(2 * new_people + 1) % len(finger_pool)]
                    reused = new_people >= len(spare_faces) or 2 * new_people + 1 >= len(
                        spare_fingers
                    )
                    new_people += 1
                    portrait, prints = face_set[-1], {2: fa[-1], 7: fb[-1]}
                # A rejected capture is retaken, as at the counter: the next photo or impression.
                for candidate in [portrait, *_siblings(faces, portrait)]:
                    with unit_of_work() as session:
                        report = enrolment.capture_portrait(
                            session,
                            app_id,
                            candidate.read_bytes(),
                            actor=actor,
                            matcher=ports.matcher,
                        )
                    if report.acceptable:
                        break
                    retakes["portrait"] += 1
                for position, image in prints.items():
                    for candidate in [image, *_siblings(fingers, image)]:
                        with unit_of_work() as session:
                            report = enrolment.capture_fingerprint(
                                session,
                                app_id,
                                position,
                                candidate.read_bytes(),
                                actor=actor,
                                matcher=ports.matcher,
                            )
                        if report.acceptable:
                            break
                        retakes["fingerprint"] += 1
                with unit_of_work() as session:
                    enrolment.request_verification(session, app_id, actor=actor)
                worker.drain()
                with unit_of_work() as session:
                    viewed = enrolment.view(session, app_id, actor=actor, language=FALLBACK)
                status = viewed.status
                for check in viewed.checks:
                    if check.outcome in ("review", "fail"):
                        held[f"{check.name}: {check.outcome}"] += 1
                repeats["given"] += reused
                repeats["held"] += reused and any(
                    c.name == "duplicates_1toN" and c.outcome == "review" for c in viewed.checks
                )
                if status == "verified":
                    # The code reaches the applicant's (or guardian's) phone; they read it out.
                    with unit_of_work() as session:
                        code, _ = enrolment.send_phone_code(session, app_id, actor=actor)
                    with unit_of_work() as session:
                        enrolment.confirm_phone_code(session, app_id, code, actor=actor)
                    with unit_of_work() as session:
                        enrolment.record_consent(
                            session,
                            app_id,
                            ConsentIn(
                                by="guardian" if _minor(record) else "applicant",
                                text_version=CURRENT_VERSION,
                                language="vi",
                            ),
                            actor=actor,
                        )
                    with unit_of_work() as session:
                        sub = enrolment.submit(session, app_id, actor=actor)
                    deadlines[f"{sub.working_days} working days -> {sub.legal_deadline}"] += 1
                    worker.drain()
                    with unit_of_work() as session:
                        status = enrolment.view(
                            session, app_id, actor=actor, language=FALLBACK
                        ).status
                outcomes[status] += 1
            except EidError as exc:
                outcomes["refused at the counter"] += 1
                refusals[f"{exc.code} ({exc.message})"] += 1
    worker.drain()
    table = Table(title=f"A day at office {office} ({clock.today_vn():%a %d %b %Y})")
    table.add_column("outcome")
    table.add_column("applicants", justify="right")
    for name, n in outcomes.most_common():
        table.add_row(name, str(n))
    console.print(table)
    if refusals:
        console.print(
            "Refused at the counter: " + ", ".join(f"{c} x{n}" for c, n in refusals.items())
        )
    if held:
        console.print("Checks not passed: " + ", ".join(f"{c} x{n}" for c, n in held.items()))
    if repeats["given"]:
        console.print(
            f"The shared set holds {len(faces)} faces and {len(fingers)} fingers, so "
            f"{repeats['given']} applicant(s) with nothing on file were given a face or fingers "
            f"an earlier applicant gave: a second identity, which the 1:N check held "
            f"{repeats['held']} time(s) of {repeats['given']}."
        )
    if retakes:
        console.print("Captures retaken: " + ", ".join(f"{c} x{n}" for c, n in retakes.items()))
    if deadlines:
        console.print("Legal deadlines: " + "; ".join(f"{k} (x{n})" for k, n in deadlines.items()))


def _siblings(groups: dict[str, list[Path]], first: Path) -> list[Path]:
    """Other photos or impressions of the same person or finger, for a retake."""
    group = next((v for v in groups.values() if first in v), [first])
    return [p for p in group if p != first]


def _minor(record: Any) -> bool:
    from eid.enrolment.rules import GUARDIAN_AGE, age_on

    return age_on(record.date_of_birth, clock.today_vn()) < GUARDIAN_AGE
