"""Languages a person reads eid in: gettext catalogues (Babel) and one language negotiation.

Every text a person reads (notifications, consent texts, holder and officer pages, error
messages) comes from the catalogues under `locale/<language>/LC_MESSAGES/<domain>.po`, never from
string literals in code. Two domains: `messages` (notifications, consent texts, error messages)
and `pages` (the HTML pages' texts). Error `code`s stay English and stable; messages translate.
"""

from eid.i18n.catalogues import DOMAINS, N_, Msgid, gettext, translations
from eid.i18n.formatting import format_date, format_datetime, format_number
from eid.i18n.negotiation import FALLBACK, OFFICER_LANGUAGES, SUPPORTED, negotiate

__all__ = [
    "DOMAINS",
    "FALLBACK",
    "N_",
    "OFFICER_LANGUAGES",
    "SUPPORTED",
    "Msgid",
    "format_date",
    "format_datetime",
    "format_number",
    "gettext",
    "negotiate",
    "translations",
]
