"""All LeakWatch settings in one typed place, read from the environment (prefix-free names).

Every setting has a default and a help text; `leakwatch config` prints them.
"""

from __future__ import annotations

from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Literal

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
    leakwatch_leak_date: date = Field(
        default=date(2014, 6, 30),
        description="When the leaked copy was taken: a listing dated near it is evidence.",
    )
    leakwatch_env: Literal["development", "production"] = Field(
        default="development",
        description="production: the web app refuses to start while a demo account (demo-*, "
        "its password printed by `leakwatch demo`) is active.",
    )
    sql_echo: bool = Field(
        default=False,
        description="Log SQL statements (never in production; parameters stay hidden).",
    )
    # Read by the matcher itself (it imports nothing from here); listed so `config` shows
    # every setting.
    leakwatch_native: bool = Field(
        default=True,
        description="0: never use the compiled normalisers (`leakwatch native build`).",
    )
    xdg_cache_home: Path | None = Field(
        default=None,
        description="Cache folder for the matcher's derived files (gazetteer tables, compiled "
        "normalisers) under leakwatch/; default ~/.cache.",
    )
    crawler_user_agent: str = Field(
        default="LeakWatchBot/0.1 (+leaked-data takedown monitoring; contact: the data owner)",
        description="User-Agent of every crawl request: identifies us to the sites we watch.",
    )
    crawler_max_response_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="A response is cut at this size (the evidence records why); per-source "
        "option max_response_bytes overrides it.",
    )
    crawler_page_limit: int = Field(
        default=5000, ge=1, description="Pages fetched per crawl at most (option page_limit)."
    )
    crawler_timeout_s: float = Field(
        default=30.0, gt=0, description="Seconds before one request times out."
    )
    crawler_concurrency_per_domain: int = Field(
        default=4, ge=1, le=64, description="Parallel requests to one site at most."
    )
    crawler_autothrottle: bool = Field(
        default=True,
        description="Adapt the request rate to each site's latency (off for local sources).",
    )
    # The office that sends the letters (see notices/): printed as the sender of every letter.
    leakwatch_sender_name: str = Field(
        default="デモ教育株式会社",
        description="The sender of notices: the company whose data leaked. The default is the "
        "demo's; with LEAKWATCH_ENV=production no letter is sent under it.",
    )
    leakwatch_sender_department: str = Field(
        default="お客様相談室", description="The department that signs the letters."
    )
    leakwatch_sender_representative: str = Field(
        default="代表取締役 見本 太郎", description="Who signs for the sender (title and name)."
    )
    leakwatch_sender_address: str = Field(
        default="〒100-0000 東京都千代田区見本町一丁目1番1号",
        description="The sender's postal address, as printed on letters.",
    )
    leakwatch_sender_contact: str = Field(
        default="電話 0120-000-000（平日9時から17時）",
        description="How a recipient reaches the office (phone, hours); printed on letters.",
    )
    leakwatch_public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The office site's address as printed in letters: recipients confirm a "
        "letter at <this>/verify. Production uses the public https address.",
    )
    leakwatch_notice_deadline_days: int = Field(
        default=14, ge=1, le=90, description="Days a recipient is given to reply to a notice."
    )
    leakwatch_smtp_host: str | None = Field(
        default=None,
        description="Mail server for notices, digests and customers' notifications. Unset: "
        "each message is written to LEAKWATCH_HOME/outbox/ (mode 0600) instead.",
    )
    leakwatch_smtp_port: int = Field(default=25, ge=1, le=65535, description="Mail server port.")
    leakwatch_smtp_starttls: bool = Field(
        default=False, description="Upgrade the mail connection with STARTTLS before sending."
    )
    leakwatch_smtp_user: str | None = Field(default=None, description="Mail server user name.")
    leakwatch_smtp_password: str | None = Field(
        default=None, repr=False, description="Mail server password (a secret: environment only)."
    )
    leakwatch_mail_from: str = Field(
        default="leakwatch@example.invalid", description="From address of every message sent."
    )
    leakwatch_digest_to: str = Field(
        default="",
        description="Comma-separated addresses of the investigators' daily digest (counts "
        "only); empty: no digest is sent.",
    )
    leakwatch_scrapyd_urls: str = Field(
        default="",
        description="Comma-separated Scrapyd nodes (http://host:6800) the scheduler hands "
        "crawls to; empty: each crawl runs as a local subprocess.",
    )

    leakwatch_matcher: str = Field(
        default="",
        description="Where the resident matcher listens (unix:/path or tcp:127.0.0.1:PORT); "
        "'off' never uses it; empty: the address `leakwatch matcher serve` publishes in "
        "LEAKWATCH_HOME/matcher.json, if it runs.",
    )
    leakwatch_dask_scheduler: str = Field(
        default="",
        description="Address of a Dask scheduler (tcp://host:8786): the resident matcher "
        "shards its index over that cluster's workers; empty: one process holds it.",
    )

    @cached_property
    def home(self) -> Path:
        return self.leakwatch_home.expanduser().resolve()

    @property
    def key_file(self) -> Path:
        return (self.leakwatch_key_file or self.home / "leakwatch.key").expanduser()

    @property
    def cache_folder(self) -> Path:
        """Where the matcher's derived files go (as matcher.cachedir finds it)."""
        base = self.xdg_cache_home or Path("~/.cache").expanduser()
        return base / "leakwatch"

    @property
    def evidence_dir(self) -> Path:
        """Where crawls write their WARC files."""
        return self.home / "evidence"

    @property
    def scrapyd_nodes(self) -> list[str]:
        """LEAKWATCH_SCRAPYD_URLS as a list (empty: crawl locally)."""
        return [u.strip().rstrip("/") for u in self.leakwatch_scrapyd_urls.split(",") if u.strip()]

    @property
    def outbox_dir(self) -> Path:
        """Where messages go when no mail server is set (the demo reads them there)."""
        return self.home / "outbox"

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'leakwatch.db'}"


def load_settings() -> Settings:
    """Read the settings from the environment now (tests change the environment between calls)."""
    return Settings()
