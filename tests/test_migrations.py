"""The schema only changes through migrations: an empty database upgrades to exactly the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect

from tests.conftest import make_env
from webapp import create_app
from webapp.db.base import managed_by_models
from webapp.db.orm import db


def test_upgrade_of_an_empty_database_leaves_no_autogenerate_diff(migrated, idp):
    app = create_app(env=make_env(migrated, idp.url))
    with app.app_context():
        upgrade()  # already at head: a no-op that must not fail
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": managed_by_models})
            assert compare_metadata(context, db.metadata) == []
        db.engine.dispose()


def test_fresh_sqlite_file_upgrades_and_downgrades_cleanly(tmp_path, idp):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    app = create_app(env=make_env(url, idp.url))
    with app.app_context():
        upgrade()
        assert {"users", "tenants", "identities", "audit_events"} <= set(inspect(db.engine).get_table_names())
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path):
    import webapp.db.sqlite  # noqa: F401

    engine = create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
