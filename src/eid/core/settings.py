"""One Settings object, read from the environment with the EID_ prefix."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """The user data folder that keeps the embedded database and dev keys between runs."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "eid"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EID_", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    # The application's role (reads and writes rows). Unset: an embedded PostgreSQL, where eid
    # creates both roles itself.
    database_url: str | None = None
    # The owner role the migrations run as; the application role (the user in database_url)
    # gets its grants from them. Unset with database_url set: that one role does everything
    # (development only).
    migration_database_url: str | None = None
    data_dir: Path = default_data_dir()
    issuer: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000

    # Folder of key files (data-at-rest AES key, agency signing keys, OIDC keys). Unset: a
    # folder under data_dir, where development generates missing keys; production never does.
    keys_dir: Path | None = None

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "eid@localhost"
    sms_gateway_url: str | None = None

    officer_token_ttl_seconds: int = 8 * 3600
    # An officer session unused this long is over (a console left open at an empty counter).
    officer_idle_timeout_seconds: int = 15 * 60
    worker_concurrency: int = 2
    embedded_worker: bool = True
    refused_image_retention_days: int = 30
    # Done jobs are deleted after this; dead ones stay until retried (eid.core.jobs.prune).
    job_retention_days: int = Field(default=7, ge=1)
    # Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For is
    # believed (`core.throttle.client_ip`); empty: the socket peer is the client.
    trusted_proxies: str = ""

    # The HTTP edge under load (eid.core.backpressure, eid.core.database): every admitted request
    # can get a thread and a connection at once; the rest wait briefly, then get 503.
    db_pool_size: int = 20  # the API's connections; also its thread pool and in-flight bound
    db_pool_timeout_seconds: float = 3.0
    worker_db_pool_size: int = 4  # the worker's own pool: never starved behind the API
    max_requests_in_flight: int = 0  # 0: db_pool_size
    max_requests_waiting: int = 200
    max_queue_wait_seconds: float = 5.0
    # Above the longest deliberate wait: POST .../verification?wait= (at most 60 s).
    request_timeout_seconds: float = 65.0
    # /metrics: open on loopback; from elsewhere (and always in production) it needs this bearer.
    metrics_token: str | None = None
    json_logs: bool = True
    # Production serves no /docs or /redoc (a developer's tools, scripts from a CDN), and the
    # OpenAPI document only when this says so (e.g. for relying parties' developers).
    publish_openapi: bool = False

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.env != "production":
            return self._two_roles_or_one()
        missing = [
            name
            for name, value in (
                ("EID_DATABASE_URL", self.database_url),
                ("EID_KEYS_DIR", self.keys_dir),
                ("EID_SMTP_HOST", self.smtp_host),
                ("EID_SMS_GATEWAY_URL", self.sms_gateway_url),
            )
            if not value
        ]
        if missing:
            raise ValueError(f"production needs real settings, missing: {', '.join(missing)}")
        if not self.issuer.startswith("https://"):
            raise ValueError("production needs an https:// EID_ISSUER")
        if self.migration_database_url and _user(self.migration_database_url) == _user(
            self.database_url or ""
        ):
            raise ValueError(
                "production needs EID_DATABASE_URL and EID_MIGRATION_DATABASE_URL as two roles"
            )
        return self._two_roles_or_one()

    def _two_roles_or_one(self) -> Settings:
        if self.migration_database_url and not self.database_url:
            raise ValueError("EID_MIGRATION_DATABASE_URL needs EID_DATABASE_URL (the app's role)")
        return self

    @property
    def resolved_keys_dir(self) -> Path:
        return self.keys_dir or (self.data_dir / "keys")


def _user(url: str) -> str | None:
    from sqlalchemy.engine import make_url

    return make_url(url).username if url else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
