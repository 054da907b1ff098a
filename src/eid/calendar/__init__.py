"""Viet Nam working days and the legal deadline of an application (DESIGN.md §1, deadline)."""
