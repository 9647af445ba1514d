"""Empty databases for bench/web and bench/seed: a SQLite file, or a MariaDB database dropped
at the end."""
import contextlib
import os
import uuid

MARIADB_SERVER = os.environ.get("BENCH_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/")


@contextlib.contextmanager
def empty_database(backend, folder, label):
    """The URL of an empty database on *backend*: *folder*/*label*.db on SQLite; on MariaDB
    a database named after *label* with a random suffix (runs side by side never share one),
    dropped when the block ends, however it ends."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'{label}.db'}"
        return
    name = f"{label.replace('-', '_')}_{uuid.uuid4().hex[:12]}"
    _on_server(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        yield f"{MARIADB_SERVER.rstrip('/')}/{name}?charset=utf8mb4"
    finally:
        _on_server(f"DROP DATABASE IF EXISTS `{name}`")


def _on_server(statement):
    # Imported here: the scripts' --help and argument errors need no SQLAlchemy.
    from sqlalchemy import create_engine, text
    engine = create_engine(MARIADB_SERVER, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()
