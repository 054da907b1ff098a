"""Offices, officers, their roles and sessions: who may act at the immigration office."""
