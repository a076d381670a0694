"""All LeakWatch settings in one typed place, read from the environment (prefix-free names).

Every setting has a default and a help text; `leakwatch config` prints them.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide configuration. Secrets are never given defaults."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    leakwatch_home: Path = Field(
        default=Path("./var"),
        description="Data folder: the default SQLite database, the key file, evidence, exports.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the database, e.g. postgresql+psycopg://user@host/db. "
            "Default: a SQLite file leakwatch.db under LEAKWATCH_HOME."
        ),
    )
    leakwatch_key: str | None = Field(
        default=None,
        repr=False,
        description=(
            "Master key(s), base64url, comma-separated, current first. When unset the key file "
            "LEAKWATCH_HOME/leakwatch.key (mode 0600, made by `leakwatch init`) is used."
        ),
    )
    leakwatch_key_file: Path | None = Field(
        default=None,
        description="Path of the key file; default LEAKWATCH_HOME/leakwatch.key.",
    )
    import_batch_size: int = Field(
        default=2000, ge=1, le=100_000, description="Rows per database transaction on import."
    )
    sql_echo: bool = Field(default=False, description="Log SQL statements (never in production).")

    @cached_property
    def home(self) -> Path:
        return self.leakwatch_home.expanduser().resolve()

    @property
    def key_file(self) -> Path:
        return (self.leakwatch_key_file or self.home / "leakwatch.key").expanduser()

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'leakwatch.db'}"


def load_settings() -> Settings:
    """Read the settings from the environment now (tests change the environment between calls)."""
    return Settings()
