"""PostgreSQL access (psycopg 3 through SQLAlchemy/SQLModel, async) and Alembic migrations.

Each service owns one database (docs/architecture.md, "Services and what they own"); :func:`ensure_database` creates it on first start,
:func:`migrate` brings it to the newest Alembic revision of the service's ``migrations/`` folder.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def _libpq_conninfo(url: str, database: str | None = None) -> str:
    u = make_url(url)
    parts = {
        "host": u.host or "127.0.0.1",
        "port": str(u.port or 5432),
        "user": u.username or "postgres",
        "dbname": database or u.database or "postgres",
    }
    if u.password:
        parts["password"] = u.password
    return " ".join(f"{k}={v}" for k, v in parts.items())


def ensure_database(url: str) -> bool:
    """Create the database named in ``url`` if it does not exist (connects to ``postgres`` to do it).

    Returns True when it was created. Raises psycopg.OperationalError when the server is unreachable.
    """
    name = make_url(url).database
    if not name:
        raise ValueError(f"database url {url!r} names no database")
    with psycopg.connect(_libpq_conninfo(url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            return False
        return True


def drop_database(url: str) -> None:
    """Drop the database named in ``url`` (tests only); terminates its open connections first."""
    name = make_url(url).database
    with psycopg.connect(_libpq_conninfo(url, "postgres"), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def migrate(url: str, migrations_dir: Path, revision: str = "head") -> None:
    """Run Alembic ``upgrade`` to ``revision`` for the service whose scripts live in ``migrations_dir``.

    The folder holds ``env.py`` and ``versions/``; the URL is passed through the Alembic config, so no
    alembic.ini is needed. Raises alembic/SQLAlchemy errors unchanged.
    """
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, revision)


def run_migrations_online() -> None:
    """Body of every service's ``migrations/env.py``: upgrade using the URL from the Alembic config."""
    from alembic import context
    from sqlalchemy import create_engine, pool

    url = context.config.get_main_option("sqlalchemy.url")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


class Database:
    """An async engine plus session factory for one service database.

    ``url`` is a SQLAlchemy URL with the psycopg driver (``postgresql+psycopg://...``).
    """

    def __init__(self, url: str, pool_size: int = 5) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url, pool_size=pool_size, pool_pre_ping=True)
        self.sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on error."""
        async with self.sessions() as s:
            async with s.begin():
                yield s

    async def ping(self) -> None:
        """Run ``SELECT 1``; raises when the database is unreachable."""
        from sqlalchemy import text

        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
