"""Synthetic people for the reference registry: valid ICAO passport numbers, a realistic mix.

Some carry real face photos and fingerprints from the shared test set (the 3-day path), some
none (the 7-day path), some an expired residence card (refused at the office).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from eid.core import clock
from eid.core.audit import Actor
from eid.registry.schemas import PassportIn, PersonIn, ResidenceCardIn
from eid.registry.service import add_person

# Foreign residents of Viet Nam by nationality, roughly as immigration statistics show them.
NATIONALITY_MIX = {
    "CHN": 30,
    "KOR": 25,
    "JPN": 10,
    "TWN": 8,
    "USA": 5,
    "IND": 4,
    "RUS": 3,
    "THA": 3,
    "PHL": 3,
    "FRA": 2,
    "GBR": 2,
    "AUS": 2,
    "DEU": 1,
    "MYS": 1,
    "SGP": 1,
}
SURNAMES = {
    "CHN": ["WANG", "LI", "ZHANG", "LIU", "CHEN"],
    "KOR": ["KIM", "LEE", "PARK", "CHOI", "JUNG"],
    "JPN": ["SATO", "SUZUKI", "TAKAHASHI", "TANAKA"],
    "TWN": ["CHEN", "LIN", "HUANG"],
    "USA": ["SMITH", "JOHNSON", "WILLIAMS"],
    "IND": ["SHARMA", "PATEL", "SINGH"],
    "RUS": ["IVANOV", "SMIRNOV", "KUZNETSOV"],
    "THA": ["SRISAI", "WONGSA"],
    "PHL": ["SANTOS", "REYES", "CRUZ"],
    "FRA": ["MARTIN", "BERNARD"],
    "GBR": ["JONES", "TAYLOR"],
    "AUS": ["BROWN", "WILSON"],
    "DEU": ["MUELLER", "SCHMIDT"],
    "MYS": ["TAN", "LIM"],
    "SGP": ["TEO", "NG"],
}
GIVEN = [
    "MIN JUN",
    "WEI",
    "HANA",
    "JOHN",
    "ANNA",
    "RAHUL",
    "OLGA",
    "YUKI",
    "MARIA",
    "DAVID",
    "SOO AH",
    "LEI",
    "KENJI",
    "SOPHIE",
    "ARJUN",
    "NGOC",
]


@dataclass(frozen=True)
class SeededPerson:
    passport_number: str
    full_name: str
    with_biometrics: bool
    card_expired: bool
    face_identity: str | None
    finger_ids: tuple[str, ...]


def _passport_number(rng: random.Random, state: str) -> str:
    # ICAO allows A-Z and 0-9 in a 9-character document number.
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    return rng.choice(letters) + "".join(rng.choice("0123456789") for _ in range(8))


def _labels(folder: Path) -> dict[str, list[Path]]:
    groups: dict[str, list[Path]] = defaultdict(list)
    with (folder / "labels.csv").open() as fh:
        for row in csv.DictReader(fh):
            key = row.get("identity") or row.get("finger") or ""
            groups[key].append(folder / row["file"])
    return {k: sorted(v) for k, v in sorted(groups.items())}


def biometric_pool(data_dir: Path | None) -> tuple[dict[str, list[Path]], dict[str, list[Path]]]:
    if data_dir is None or not (data_dir / "faces" / "labels.csv").exists():
        return {}, {}
    faces = {k: v for k, v in _labels(data_dir / "faces").items() if len(v) >= 2}
    fingers = {k: v for k, v in _labels(data_dir / "fingerprints").items() if len(v) >= 2}
    return faces, fingers


def seed(
    session: Session, *, count: int, data_dir: Path | None, actor: Actor, rng_seed: int = 2025
) -> list[SeededPerson]:
    rng = random.Random(rng_seed)  # noqa: S311 - synthetic people, not secrets
    faces, fingers = biometric_pool(data_dir)
    face_ids = list(faces)
    finger_ids = list(fingers)
    today = clock.today_vn()
    people: list[SeededPerson] = []
    used: set[str] = set()
    states = list(NATIONALITY_MIX)
    weights = list(NATIONALITY_MIX.values())
    for i in range(count):
        state = rng.choices(states, weights)[0]
        number = _passport_number(rng, state)
        while number in used:
            number = _passport_number(rng, state)
        used.add(number)
        age_years = rng.choice([8, 12] if i % 17 == 5 else range(20, 66))
        dob = today - dt.timedelta(days=int(age_years * 365.25) + rng.randint(0, 300))
        name = f"{rng.choice(SURNAMES[state])} {rng.choice(GIVEN)}"
        expired = i % 10 == 9
        card_expiry = (
            today - dt.timedelta(days=30)
            if expired
            else today + dt.timedelta(days=rng.randint(200, 1500))
        )
        # Every third person has biometrics on file while the shared set has identities left:
        # a face identity and two fingers per person.
        with_bio = i % 3 == 0 and len(face_ids) > 0 and len(finger_ids) >= 2
        face = face_ids.pop(0) if with_bio else None
        prints = (finger_ids.pop(0), finger_ids.pop(0)) if with_bio else ()
        issue = today - dt.timedelta(days=rng.randint(100, 2500))
        person = PersonIn(
            full_name=name,
            date_of_birth=dob,
            sex=rng.choice(["M", "F"]),
            nationality=state,
            passport=PassportIn(
                number=number,
                type="P",
                issuing_state=state,
                issue_date=issue,
                expiry_date=issue + dt.timedelta(days=3652),
            ),
            residence_card=ResidenceCardIn(
                number=f"{'TT' if i % 5 else 'TV'}{rng.randint(1000000, 9999999)}",
                kind="PRC" if i % 7 == 0 else "TRC",
                expiry_date=card_expiry,
            ),
            # Every other person's record holds a tax code (no draw from `rng`: the people
            # seeded before documents existed stay the same).
            documents={"tax_code": f"80{i:08d}"} if i % 2 == 0 else {},
        )
        portrait = faces[face][0].read_bytes() if face else None
        fp_images = (
            {2: fingers[prints[0]][0].read_bytes(), 7: fingers[prints[1]][0].read_bytes()}
            if prints
            else None
        )
        if person.passport.expiry_date <= today:
            continue
        add_person(session, person, actor=actor, portrait=portrait, fingerprints=fp_images)
        people.append(
            SeededPerson(
                passport_number=number,
                full_name=name,
                with_biometrics=with_bio,
                card_expired=expired,
                face_identity=face,
                finger_ids=prints,
            )
        )
    return people
