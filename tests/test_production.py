"""MySQL/MariaDB in production: utf8mb4, strict SQL mode, a pool that survives idle timeouts."""
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError

from app import create_app
from exts import MYSQL_TABLE_OPTIONS, db
from models import QuestionModel, UserModel
from setting import ConfigError
from tests.backends import database_unused, mariadb_only

MYSQL_URL = "mysql+pymysql://app:pw@db.example/qa"


@pytest.fixture
def clean_env(clean_env):
    clean_env.setenv("SECRET_KEY", "s" * 64)
    return clean_env


def test_production_on_mysql_gets_utf8mb4_strict_mode_and_a_safe_pool(clean_env):
    clean_env.setenv("DATABASE_URL", "mysql://app:pw@db.example/qa")
    app = create_app("production")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == MYSQL_URL + "?charset=utf8mb4"
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    # Idle connections are pinged and open ones rolled back by exts.configure_mysql instead.
    assert (options["pool_pre_ping"], options["pool_reset_on_return"]) == (False, None)
    assert options["pool_recycle"] == 280
    assert options["connect_args"]["init_command"] == "SET SESSION sql_mode = 'TRADITIONAL'"
    with app.app_context():
        assert db.engine.pool._recycle == 280 and not db.engine.pool._pre_ping


def test_an_explicit_utf8mb4_url_is_kept_as_written(clean_env):
    clean_env.setenv("DATABASE_URL", MYSQL_URL + "?charset=utf8mb4&local_infile=0")
    app = create_app("production")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == MYSQL_URL + "?charset=utf8mb4&local_infile=0"


@pytest.mark.parametrize("charset", ["utf8", "utf8mb3", "latin1"])
def test_a_charset_that_cannot_store_all_of_unicode_is_refused(clean_env, charset):
    clean_env.setenv("DATABASE_URL", f"{MYSQL_URL}?charset={charset}")
    with pytest.raises(ConfigError, match=f"DATABASE_URL asks for charset={charset}: use "
                                          "charset=utf8mb4"):
        create_app("production")


def test_sqlite_gets_no_mysql_options(clean_env, tmp_path):
    clean_env.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    assert create_app("production").config.get("SQLALCHEMY_ENGINE_OPTIONS", {}) == {}


def test_pool_recycle_and_lock_timeout_come_from_the_environment(clean_env):
    clean_env.setenv("DATABASE_URL", MYSQL_URL)
    clean_env.setenv("DATABASE_POOL_RECYCLE", "60")
    clean_env.setenv("MIGRATION_LOCK_TIMEOUT", "900")
    app = create_app("production")
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_recycle"] == 60
    assert app.config["MIGRATION_LOCK_TIMEOUT"] == 900


@database_unused
@pytest.mark.parametrize("env, message", [
    ({"DATABASE_URL": MYSQL_URL + "?charset=latin1"}, "Error: DATABASE_URL asks for charset=latin1"),
    ({"DATABASE_POOL_RECYCLE": "5m"},
     "Error: DATABASE_POOL_RECYCLE must be a whole number of seconds above 0, not '5m'"),
])
def test_bad_production_settings_are_one_line_errors(project, env, message):
    result = project.manage("db", "current", check=False,
                            env={"FLASK_CONFIG": "production", "SECRET_KEY": "k" * 64, **env})
    assert result.returncode == 1
    assert result.stderr.strip().startswith(message)
    assert result.stderr.strip().count("\n") == 0


def test_chinese_and_emoji_round_trip(app):
    title = "如何使用数据库迁移？🚀 emoji 🐍 and 𠜎 (outside the BMP)"
    user = UserModel(username="张三 😀", email="zhang@example.com", password_hash="x")
    db.session.add_all([user, QuestionModel(title=title, content="内容 ✅", author=user)])
    db.session.commit()
    db.session.expire_all()
    question = db.session.scalars(db.select(QuestionModel)).one()
    assert (question.title, question.content, question.author.username) == (
        title, "内容 ✅", "张三 😀")


@mariadb_only  # MySQL table options; SQLite has neither engines nor collations
def test_every_table_is_innodb_utf8mb4(app):
    rows = db.session.execute(text(
        "SELECT table_name, engine, table_collation FROM information_schema.tables "
        "WHERE table_schema = DATABASE()")).all()
    # Besides the models' tables: the numbering's counter, and the search index's copies of
    # the questions (all, and the newest), in Mroonga (the only tables not in InnoDB:
    # db_objects.py).
    assert {name for name, _, _ in rows} == set(db.metadata.tables) | {
        "alembic_version", "question_counter", "search_mroonga", "search_recent"}
    for name, engine, collation in rows:
        if name != "alembic_version":
            expected = "Mroonga" if name in ("search_mroonga", "search_recent") else "InnoDB"
            assert (name, engine, collation) == (name, expected, "utf8mb4_unicode_ci")
    # Columns too: nothing narrower than utf8mb4 anywhere.
    charsets = db.session.execute(text(
        "SELECT DISTINCT character_set_name FROM information_schema.columns "
        "WHERE table_schema = DATABASE() AND character_set_name IS NOT NULL")).scalars().all()
    assert charsets == ["utf8mb4"]


@mariadb_only  # SQLite does not enforce VARCHAR lengths at all
def test_strict_mode_makes_an_over_long_value_an_error(app):
    mode = db.session.execute(text("SELECT @@SESSION.sql_mode")).scalar()
    # The server's own default here is only STRICT_TRANS_TABLES: this is ours.
    assert "STRICT_ALL_TABLES" in mode.split(",")
    user = UserModel(username="ann", email="ann@example.com", password_hash="x")
    db.session.add(QuestionModel(title="x" * 201, content="c", author=user))
    with pytest.raises(DataError, match="Data too long for column 'title'"):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalars(db.select(QuestionModel)).all() == []


@mariadb_only  # MySQL closes idle connections; SQLite files do not
def test_pool_recycle_is_below_the_servers_idle_timeout(app):
    wait_timeout = db.session.execute(text("SELECT @@SESSION.wait_timeout")).scalar()
    assert db.engine.pool._recycle < int(wait_timeout)


@mariadb_only  # MySQL drops idle connections; SQLite files do not
def test_a_connection_the_server_dropped_is_replaced_before_use(app, client, database,
                                                                monkeypatch):
    import exts

    # As if the pooled connection had sat idle long enough to be pinged at checkout.
    monkeypatch.setattr(exts, "MYSQL_PING_AFTER_IDLE", 0)
    # The first request's pending-migration check would absorb a dead connection too.
    assert client.get("/").status_code == 200
    db.session.remove()
    db.engine.dispose()
    with db.engine.connect() as connection:
        victim = connection.execute(text("SELECT CONNECTION_ID()")).scalar()
    assert db.engine.pool.checkedin() == 1
    # The pooled connection is now idle; the server (as after wait_timeout) drops it.
    database.execute(f"KILL {int(victim)}")
    assert client.get("/").status_code == 200
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT CONNECTION_ID()")).scalar() != victim


def test_autogenerate_writes_the_table_options_into_new_tables(project):
    project.manage("db", "upgrade")
    models = project.root / "models.py"
    models.write_text(models.read_text() + (
        "\n\nclass TagModel(db.Model):\n"
        "    __tablename__ = 'tag'\n"
        "    id = db.Column(db.Integer, primary_key=True)\n"
        "    name = db.Column(db.String(50), nullable=False)\n"
    ))
    versions = set(project.versions())
    project.manage("db", "migrate", "-m", "add tag table")
    (new_file,) = set(project.versions()) - versions
    script = (project.root / "migrations" / "versions" / new_file).read_text()
    for key, value in sorted(MYSQL_TABLE_OPTIONS.items()):
        assert f"{key}={value!r}" in script
    project.manage("db", "upgrade")
    assert "tag" in project.database.tables()


@pytest.fixture
def round_trips(monkeypatch):
    """What the app's PyMySQL connections send: each command's first words, and pings."""
    import pymysql.connections

    sent = []
    command, ping = pymysql.connections.Connection._execute_command, \
        pymysql.connections.Connection.ping

    def spy_command(connection, kind, sql):
        words = sql.decode() if isinstance(sql, bytes) else sql
        if words:  # a ping's own packet has none
            sent.append(" ".join(words.split()[:2]))
        return command(connection, kind, sql)

    def spy_ping(connection, *args, **kwargs):
        sent.append("PING")
        return ping(connection, *args, **kwargs)

    monkeypatch.setattr(pymysql.connections.Connection, "_execute_command", spy_command)
    monkeypatch.setattr(pymysql.connections.Connection, "ping", spy_ping)
    return sent


@mariadb_only  # the round trips of a MySQL connection
def test_a_page_costs_its_query_and_one_rollback(app, client, round_trips):
    app.config["PAGE_CACHE_SIZE"] = 0
    assert client.get("/").status_code == 200  # the first request also checks the revision
    round_trips.clear()
    assert client.get("/").status_code == 200
    # No ping for a connection used a moment ago, no second rollback on its return.
    assert round_trips == ["SELECT STRAIGHT_JOIN", "ROLLBACK"]


@mariadb_only
def test_an_idle_connection_is_pinged_before_use(app, client, round_trips, monkeypatch):
    import exts

    app.config["PAGE_CACHE_SIZE"] = 0
    assert client.get("/").status_code == 200
    monkeypatch.setattr(exts, "MYSQL_PING_AFTER_IDLE", 0)
    round_trips.clear()
    assert client.get("/").status_code == 200
    assert round_trips == ["PING", "SELECT STRAIGHT_JOIN", "ROLLBACK"]


@mariadb_only
def test_a_connection_returned_mid_transaction_is_rolled_back(app, database):
    raw = db.engine.raw_connection()
    cursor = raw.cursor()
    cursor.execute("INSERT INTO `user` (email, username, username_key, password_hash, "
                   "join_time) VALUES ('raw@example.com', 'raw', 'raw', 'x', NOW())")
    cursor.close()
    raw.close()  # back to the pool with the INSERT neither committed nor rolled back
    with db.engine.connect() as connection:
        assert connection.execute(text(
            "SELECT COUNT(*) FROM `user` WHERE email = 'raw@example.com'")).scalar() == 0
