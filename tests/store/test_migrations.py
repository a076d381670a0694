"""Migrations: upgrade, downgrade and upgrade again; the models and migrations agree."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect

from store.db import alembic_config, downgrade, upgrade
from store.models import Base


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    assert _tables(empty_db_url) == set(Base.metadata.tables)
    command.check(alembic_config(empty_db_url))  # raises if models and schema differ
    downgrade(empty_db_url, "base")
    assert _tables(empty_db_url) == set()
    upgrade(empty_db_url)
    assert _tables(empty_db_url) == set(Base.metadata.tables)


def test_store_refuses_a_database_without_the_latest_schema(empty_db_url: str) -> None:
    import pytest

    from store.db import SchemaError
    from store.runtime import Store
    from store.settings import Settings

    settings = Settings(database_url=empty_db_url)
    with pytest.raises(SchemaError, match="leakwatch init"):
        Store.open(settings)
    upgrade(empty_db_url, "0001")
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(empty_db_url)).get_current_head()
    assert head is not None and head != "0001"
    with pytest.raises(SchemaError, match=f"at schema 0001, this LeakWatch needs {head}"):
        Store.open(settings)  # behind: refused, with the command that fixes it
    upgrade(empty_db_url)
    Store.open(settings).close()  # at head: opens
