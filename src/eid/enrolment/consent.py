"""Consent texts shown to the applicant (or guardian), by version and language.

A version names one wording, kept readable for as long as any consent given to it is on record.
The text of each version is a message id of the `messages` catalogues (its English wording), so
it reads in every language the catalogues hold. The Vietnamese text is the legal original: every
other language carries a notice that it is a translation and that the Vietnamese text prevails.
"""

from __future__ import annotations

from eid.i18n import N_, Msgid, gettext, negotiate

CURRENT_VERSION = "2025-07-v1"  # Level 2, at an office
LEVEL1_VERSION = "2026-11-level1"  # Level 1, in the app: a selfie, no fingerprints
ORIGINAL_LANGUAGE = "vi"

TEXTS: dict[str, Msgid] = {
    "2025-07-v1": N_(
        "I agree that the immigration authority collects, processes and passes to the e-ID "
        "authority my identity data, portrait and fingerprints to create a Level-2 electronic "
        "identification account, under Decree 69/2024/ND-CP and the Personal Data Protection "
        "Law. I may access my data, ask for corrections and see the history of its use."
    ),
    "2026-11-level1": N_(
        "I agree that the immigration authority collects and processes my identity data, "
        "mobile number and the selfie I take now, compares the selfie with the photo in the "
        "national immigration database and with other registrations, and passes them to the "
        "e-ID authority to create a Level-1 electronic identification account, under Decree "
        "69/2024/ND-CP and the Personal Data Protection Law. I may access my data, ask for "
        "corrections and see the history of its use."
    ),
}
# The level of account each text is consented to (a Level-2 text does not cover an app
# registration, nor the other way round).
LEVELS: dict[str, int] = {"2025-07-v1": 2, "2026-11-level1": 1}


def current_version(level: int) -> str:
    return LEVEL1_VERSION if level == 1 else CURRENT_VERSION


TRANSLATION_NOTICE = N_(
    "This text is a translation of the Vietnamese original. In case of any difference in "
    "meaning, the Vietnamese text prevails."
)


def language_for(*requested: str | None) -> str:
    """The language a consent text is shown in: the first of the `requested` BCP 47 tags (or
    Accept-Language headers) with texts of its own, else English."""
    return negotiate(*requested)


def has_text(requested: str) -> bool:
    """Whether the catalogues hold the consent texts in the `requested` language itself."""
    return language_for(requested) == requested.replace("_", "-").split("-")[0].lower()


def text_for(version: str, language: str) -> str | None:
    """The consent text of `version` in `language` (a BCP 47 tag; one without texts of its own
    reads English, see `language_for`), or None for an unknown version."""
    msgid = TEXTS.get(version)
    if msgid is None:
        return None
    language = language_for(language)
    text = gettext(language, msgid)
    if language != ORIGINAL_LANGUAGE:
        text = f"{text}\n\n{gettext(language, TRANSLATION_NOTICE)}"
    return text
