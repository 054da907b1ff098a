"""eid: Level-2 electronic identification for foreign residents of Viet Nam."""

__version__ = "0.1.0"
