"""db adopt and db stamp's check: which revision's schema a database matches, proven exactly."""
# Each revision's schema is what running the history up to it produces on the same kind of
# server: a scratch database (a temporary SQLite file, or a scratch MySQL database next to the
# live one) is upgraded one revision at a time through env.py, exactly as db upgrade runs
# them, and reflected after each. Built once per history and server, per process.
import contextlib
import hashlib
import os
import tempfile
import uuid
from dataclasses import dataclass, field

from alembic import command
from alembic.script import ScriptDirectory
from alembic.util import to_tuple
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from migration_safety.errors import SafetyError, describe
from migration_safety.history import current_heads
from migration_safety.logs import quiet
from migration_safety.schema import extras, reflect
from migration_safety.schemadiff import by_table, compare, compare_extras

# history fingerprint -> [(revision id, {table: schema.Table}, schema.extras)], base first
_SCHEMAS = {}


@dataclass
class Finding:
    """The newest revision the database matches exactly, else the closest and how it differs."""

    revision: str = None
    closest: str = None
    differences: list = field(default_factory=list)
    # Older revisions whose schema is the same as the one found (a revision that changes only
    # data): the database may be at one of them.
    alike: list = field(default_factory=list)


def base_first(script):
    """Every revision of *script*, base first (parents before children)."""
    return list(reversed(list(script.walk_revisions("base", "heads"))))


def revision_schemas(config, connection):
    """[(revision id, {table: Table}, extras)] for each revision of the history, base first."""
    script = ScriptDirectory.from_config(config)
    revisions = base_first(script)
    key = _fingerprint(connection, revisions)
    if key not in _SCHEMAS:
        _SCHEMAS[key] = _build(config, connection, revisions)
    return _SCHEMAS[key]


def find(config, connection):
    """The Finding for the database on *connection*."""
    live, live_extras = reflect(connection), extras(connection)
    closest, matches = None, []
    for revision, expected, expected_extras in reversed(revision_schemas(config, connection)):
        # The triggers and bookkeeping tables count too: a database without the triggers
        # that number the questions would take a stamp and then lose every new question
        # from the pages.
        differences = by_table(compare(live, expected, connection.dialect)
                               + compare_extras(live_extras, expected_extras))
        if not differences:
            matches.append(revision)
        elif closest is None or len(differences) < len(closest.differences):
            closest = Finding(closest=revision, differences=differences)
    if matches:
        revision, alike = matches[0], matches[1:]  # newest first
        return Finding(revision=revision, alike=alike)
    return closest or Finding()


def differences_from(config, connection, revision):
    """How the database on *connection* differs from *revision*'s schema ([] if not at all)."""
    for candidate, expected, expected_extras in revision_schemas(config, connection):
        if candidate == revision:
            return by_table(compare(reflect(connection), expected, connection.dialect)
                            + compare_extras(extras(connection), expected_extras))
    raise SafetyError(f"revision {revision} is not in the migration history")


def _fingerprint(connection, revisions):
    digest = hashlib.sha256()
    for script in revisions:
        digest.update(script.revision.encode())
        with open(script.path, "rb") as source:
            digest.update(source.read())
    dialect = connection.dialect
    server = (dialect.name, dialect.server_version_info)
    if dialect.name in ("mysql", "mariadb"):
        server += (connection.execute(text(
            "SELECT default_collation_name FROM information_schema.schemata "
            "WHERE schema_name = DATABASE()")).scalar(),)
    return server + (digest.hexdigest(),)


def _build(config, connection, revisions):
    schemas = []
    with _scratch(connection) as scratch:
        engine = scratch.engine()
        try:
            for script in revisions:
                with engine.connect() as scratch_connection:
                    heads = set(current_heads(scratch_connection))
                if heads != set(to_tuple(script.down_revision, default=())):
                    # Another branch is applied: start again from an empty database.
                    engine.dispose()
                    scratch.reset()
                    engine = scratch.engine()
                _upgrade(config, engine, script.revision)
                with engine.connect() as scratch_connection:
                    schemas.append((script.revision, reflect(scratch_connection),
                                    extras(scratch_connection)))
        finally:
            engine.dispose()
    return schemas


def _upgrade(config, engine, revision):
    """Run the history up to *revision* on the scratch database, through env.py."""
    saved = config.attributes.get("connection")
    with engine.connect() as scratch_connection, quiet("alembic", "migration_safety"):
        config.attributes["connection"] = scratch_connection
        try:
            command.upgrade(config, revision)
        except Exception as exc:
            raise SafetyError(f"could not build the schema of revision {revision} on a scratch "
                              f"database: {describe(exc)}") from None
        finally:
            if saved is None:
                config.attributes.pop("connection", None)
            else:
                config.attributes["connection"] = saved


@contextlib.contextmanager
def _scratch(connection):
    dialect = connection.dialect.name
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory(prefix="adopt-") as folder:
            yield _SQLiteScratch(os.path.join(folder, "scratch.db"))
    elif dialect in ("mysql", "mariadb"):
        scratch = _MySQLScratch(connection)
        try:
            yield scratch
        finally:
            scratch.drop()
    else:
        raise SafetyError(f"db adopt works on SQLite and MySQL/MariaDB, not {dialect}")


class _SQLiteScratch:
    def __init__(self, path):
        self.path = path

    def engine(self):
        return create_engine(f"sqlite:///{self.path}", poolclass=NullPool)

    def reset(self):
        os.remove(self.path)


class _MySQLScratch:
    """A database next to the live one, in the live one's default character set."""

    def __init__(self, connection):
        self.url = connection.engine.url
        live = connection.execute(text("SELECT DATABASE()")).scalar()
        self.collation = connection.execute(text(
            "SELECT default_collation_name FROM information_schema.schemata "
            "WHERE schema_name = DATABASE()")).scalar()
        self.name = f"{live[:40]}_adopt_{uuid.uuid4().hex[:12]}"
        self._server = create_engine(self.url.set(database=""), poolclass=NullPool)
        self._create()

    def _create(self):
        try:
            with self._server.connect() as server:
                server.execute(text(f"CREATE DATABASE `{self.name}` CHARACTER SET "
                                    f"{self.collation.split('_', 1)[0]} "
                                    f"COLLATE {self.collation}"))
        except Exception as exc:
            raise SafetyError(
                "db adopt compares the database with each revision's schema built in a scratch "
                f"database, and could not create one ({describe(exc)}): grant this user "
                "CREATE and DROP on databases, or run db adopt as a user who has them"
            ) from None

    def engine(self):
        return create_engine(self.url.set(database=self.name), poolclass=NullPool)

    def reset(self):
        self.drop()
        self._create()

    def drop(self):
        with self._server.connect() as server:
            server.execute(text(f"DROP DATABASE IF EXISTS `{self.name}`"))
        self._server.dispose()
