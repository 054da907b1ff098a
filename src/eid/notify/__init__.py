"""Outbox and channels: email (SMTP), SMS (HTTP gateway), the app inbox; templates per language."""
