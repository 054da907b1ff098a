"""Checks of an application against the registry and the duplicate index; the review queue."""
