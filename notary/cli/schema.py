"""The database schema: db upgrade, db current."""

from __future__ import annotations

import typer

from .console import EXIT_UNAVAILABLE, app, fail

db_app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema (every process also does this at start)."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..database import current_revision, make_engine, migrate
    from ..settings import Settings

    engine = make_engine(Settings().sqlalchemy_url)
    try:
        before = current_revision(engine)
        migrate(engine)
        typer.echo(f"schema {before or 'empty'} -> {current_revision(engine)}")
    except SQLAlchemyError as exc:
        fail(EXIT_UNAVAILABLE, f"cannot migrate the database: {type(exc).__name__}")
    finally:
        engine.dispose()


@db_app.command("current")
def db_current() -> None:
    """The database's schema revision and the newest this version knows."""
    from ..database import current_revision, head_revision, make_engine
    from ..settings import Settings

    engine = make_engine(Settings().sqlalchemy_url)
    try:
        typer.echo(f"database: {current_revision(engine) or 'empty'}\nnewest:   {head_revision()}")
    finally:
        engine.dispose()
