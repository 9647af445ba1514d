"""Each revision as a unit: a savepoint on SQLite, recorded and resumable operations on MySQL."""
import contextlib
import datetime
import functools
import logging
import os
import traceback

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, inspect, text
from sqlalchemy.dialects import mysql
from sqlalchemy.sql.elements import ClauseElement

from migration_safety.errors import MigrationFailed, describe
from migration_safety.names import PROGRESS_TABLE
from migration_safety.private import intercepted_exec

log = logging.getLogger(__name__)

_progress = Table(
    PROGRESS_TABLE, MetaData(),
    Column("revision", String(32), primary_key=True),
    Column("direction", String(9), primary_key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    # Statements over TEXT's 64 KB happen (long data migrations): LONGTEXT on MySQL.
    Column("statement", Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb"),
           nullable=False),
    Column("applied_at", DateTime, nullable=False),
    mysql_engine="InnoDB", mysql_charset="utf8mb4", mysql_collate="utf8mb4_unicode_ci",
)

SHOWN_STATEMENT = 200


def is_mysql(connection):
    return connection.dialect.name in ("mysql", "mariadb")


def shorten(statement, limit=SHOWN_STATEMENT):
    return statement if len(statement) <= limit else statement[: limit - 3] + "..."


def revision_label(revision):
    return revision or "base (no revision)"


def display_path(path):
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


class Unfinished:
    """One revision whose operations were partly applied by a run that failed (MySQL)."""

    def __init__(self, revision, direction, statements):
        self.revision = revision
        self.direction = direction
        self.statements = statements

    def describe(self):
        lines = [f"the {self.direction} of revision {self.revision} is unfinished: "
                 f"{len(self.statements)} of its operations were applied by an earlier run "
                 f"(recorded in table {PROGRESS_TABLE}):"]
        lines += [f"    {n}. {shorten(s)}" for n, s in enumerate(self.statements, 1)]
        return lines


def unfinished(connection):
    """Every revision with recorded operations, oldest record first; [] when there is none."""
    if not is_mysql(connection) or not inspect(connection).has_table(PROGRESS_TABLE):
        return []
    rows = connection.execute(
        _progress.select().order_by(_progress.c.applied_at, _progress.c.revision,
                                    _progress.c.direction, _progress.c.position)
    ).fetchall()
    found = {}
    for row in rows:
        found.setdefault((row.revision, row.direction), {})[row.position] = row.statement
    return [Unfinished(revision, direction, [statements[p] for p in sorted(statements)])
            for (revision, direction), statements in found.items()]


def forget(connection):
    """Drop the record of unfinished revisions, so that the next run starts them afresh."""
    if is_mysql(connection) and inspect(connection).has_table(PROGRESS_TABLE):
        _progress.drop(connection)


class _Operation:
    def __init__(self, position, statement, line):
        self.position = position
        self.statement = statement
        self.line = line


class _RevisionRun:
    def __init__(self, script, direction):
        self.script = script
        self.direction = direction
        self.recorded = []      # statements an earlier, failed run applied (MySQL)
        self.applied = []       # _Operations this run applied
        self.position = 0
        self.failed = None      # the _Operation whose statement raised
        self.savepoint = None   # SQLite

    @property
    def label(self):
        doc = (self.script.doc or "").strip()
        return f'{self.script.revision} ("{doc}")' if doc else self.script.revision

    @property
    def version_before(self):
        """What alembic_version says while this revision has not completed."""
        if self.direction == "downgrade":
            return self.script.revision
        down = self.script.down_revision
        return ", ".join(down) if isinstance(down, (tuple, list)) else revision_label(down)


class UnitRunner:
    """Runs each revision as a unit and follows every statement Alembic sends while it runs.

    ``wrap`` turns a step's migration function into the unit; ``running`` must surround the
    whole run (it watches the statements).
    """

    def __init__(self, migration_context):
        self.context = migration_context
        self.connection = migration_context.connection
        self.persistent = is_mysql(self.connection)
        self.current = None
        self.completed = []

    @contextlib.contextmanager
    def running(self):
        with intercepted_exec(self.context.impl, self._exec):
            yield self
        if self.persistent and not unfinished(self.connection):
            forget(self.connection)

    def wrap(self, step, function, before=(), after=()):
        """*function* (a step's upgrade or downgrade) as one unit; *before* and *after* are
        callables run inside the unit, around it (keeps, cuts, restores, checks)."""
        script = step.revision
        direction = "upgrade" if step.is_upgrade else "downgrade"

        @functools.wraps(function)
        def run_revision(*args, **kwargs):
            run = _RevisionRun(script, direction)
            self._begin(run)
            self.current = run
            try:
                for action in before:
                    action()
                function(*args, **kwargs)
                self.current = None
                for action in after:
                    action()
            except MigrationFailed:
                self.current = None
                self._rollback(run)
                raise
            except Exception as exc:
                self.current = None
                self._rollback(run)
                raise MigrationFailed(self._failure_report(run, exc)) from exc
            if run.position < len(run.recorded):
                self._rollback(run)
                raise MigrationFailed(self._changed_report(
                    run, run.position + 1, run.recorded[run.position], "nothing"))
            self._finish(run)
            self.completed.append(run.label)

        return run_revision

    def _exec(self, original_exec, construct, *args, **kwargs):
        run = self.current
        if run is None:  # alembic's own version bookkeeping, between revisions
            return original_exec(construct, *args, **kwargs)
        run.position += 1
        statement = self._render(construct)
        if run.position <= len(run.recorded):
            recorded = run.recorded[run.position - 1]
            if recorded != statement:
                raise MigrationFailed(self._changed_report(
                    run, run.position, recorded, f"`{shorten(statement)}`"))
            log.info("Skipping operation %d, applied by an earlier run: %s",
                     run.position, shorten(statement, 80))
            return None
        operation = _Operation(run.position, statement, self._line_in(run.script.path))
        try:
            result = original_exec(construct, *args, **kwargs)
        except Exception:
            run.failed = operation
            raise
        run.applied.append(operation)
        if self.persistent:
            self._record(run, operation)
        return result

    def _render(self, construct):
        if isinstance(construct, str):
            construct = text(construct)
        try:
            sql = str(construct.compile(dialect=self.connection.dialect)) \
                if isinstance(construct, ClauseElement) else str(construct)
        except Exception:
            sql = str(construct)
        return " ".join(sql.split())

    @staticmethod
    def _line_in(path, tb=None):
        frames = traceback.extract_tb(tb) if tb is not None else traceback.extract_stack()
        lines = [f.lineno for f in frames if os.path.abspath(f.filename) == os.path.abspath(path)]
        return lines[-1] if lines else None

    # -- per backend ------------------------------------------------------------------------

    def _begin(self, run):
        if not self.persistent:
            run.savepoint = self.connection.begin_nested()
            return
        records = unfinished(self.connection)
        for record in records:
            if (record.revision, record.direction) == (run.script.revision, run.direction):
                run.recorded = record.statements
                log.warning("Resuming the %s of revision %s: skipping the %d operations an "
                            "earlier run applied", run.direction, run.label, len(run.recorded))
            else:
                raise MigrationFailed("\n".join([
                    f"cannot run the {run.direction} of revision {run.label}: "
                    f"{record.describe()[0]}", *record.describe()[1:],
                    f"  Finish it first: run the 'python manage.py db {record.direction}' that "
                    "failed again once its cause is fixed ('python manage.py db recover' shows "
                    "this record). Or undo those operations by hand and run "
                    "'python manage.py db recover --forget'.",
                ]))

    def _record(self, run, operation):
        if not inspect(self.connection).has_table(PROGRESS_TABLE):
            _progress.create(self.connection)
        self.connection.execute(_progress.insert().values(
            revision=run.script.revision, direction=run.direction,
            position=operation.position, statement=operation.statement,
            applied_at=datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None),
        ))
        # Commit the statement's own effect (for DML) and its record together: what is
        # recorded is exactly what is applied, whatever fails next.
        self.connection.connection.dbapi_connection.commit()

    def _finish(self, run):
        if not self.persistent:
            run.savepoint.commit()
        elif run.applied or run.recorded:
            # In alembic's transaction for this revision, so it commits with the new version.
            self.connection.execute(_progress.delete().where(
                (_progress.c.revision == run.script.revision)
                & (_progress.c.direction == run.direction)))

    def _rollback(self, run):
        if run.savepoint is not None and run.savepoint.is_active:
            try:
                run.savepoint.rollback()
            except Exception:
                log.warning("Could not roll back to the savepoint of revision %s", run.label,
                            exc_info=True)

    # -- messages ---------------------------------------------------------------------------

    def _failure_report(self, run, exc):
        path = display_path(run.script.path)
        cause = describe(exc)
        if not getattr(exc, "orig", None) and type(exc).__name__ not in cause:
            cause = f"{type(exc).__name__}: {cause}"
        if run.failed is not None:
            where = f"operation {run.failed.position} of its {run.direction}"
            line = run.failed.line
        else:
            where = f"its {run.direction}() function"
            line = self._line_in(run.script.path, exc.__traceback__)
        where += f", line {line} of {path}" if line else f" ({path})"
        lines = [f"revision {run.label} failed at {where}: {cause}"]
        if run.failed is not None:
            lines.append(f"  failed: {shorten(run.failed.statement)}")
        if "LOCK=NONE is not supported" in cause:
            lines.append("  MySQL can make this change only by blocking writes to the table "
                         "(db upgrade asked for LOCK=NONE): run it with --allow-table-copy when "
                         "writes may wait.")
        done = run.recorded + [operation.statement for operation in run.applied]
        if self.persistent:
            if done:
                lines.append(f"  already applied ({len(done)}; MySQL cannot roll DDL back), "
                             f"recorded in table {PROGRESS_TABLE}:")
                lines += [f"    {n}. {shorten(s)}" for n, s in enumerate(done, 1)]
            else:
                lines.append("  nothing of this revision was applied.")
        else:
            undone = f" ({len(done)} operations undone)" if done else ""
            lines.append(f"  nothing of this revision was kept: SQLite rolled it back as a "
                         f"whole{undone}.")
        if self.completed:
            lines.append(f"  completed before it in this run, and kept: "
                         f"{', '.join(self.completed)}.")
        lines.append(f"  alembic_version still says {run.version_before}.")
        command = f"'python manage.py db {run.direction}'"
        if self.persistent and done:
            lines.append(
                f"  To recover: fix the cause, then run {command} again: it skips the "
                f"{len(done)} recorded operations and goes on from operation {len(done) + 1}. "
                "'python manage.py db recover' shows this record again; to give the revision "
                "up instead, undo those operations by hand and run "
                "'python manage.py db recover --forget'.")
        else:
            lines.append(f"  To recover: fix the cause, then run {command} again.")
        return "\n".join(lines)

    def _changed_report(self, run, position, recorded, now):
        return "\n".join([
            f"revision {run.label} changed since an earlier run applied part of its "
            f"{run.direction}: operation {position} was recorded as `{shorten(recorded)}`, "
            f"the script now issues {now} there.",
            f"  alembic_version still says {run.version_before}; table {PROGRESS_TABLE} records "
            f"the {len(run.recorded)} operations applied.",
            "  To recover: put back the script's first "
            f"{len(run.recorded)} operations as they were (the ones after them may change) and "
            "run the command again, or undo the recorded operations by hand and run "
            "'python manage.py db recover --forget'.",
        ])
