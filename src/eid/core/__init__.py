"""Foundations every domain shares: settings, database, errors, clock, ids, crypto, audit."""
