"""Config from the environment: FLASK_CONFIG, DATABASE_URL, SECRET_KEY, MAIL_*, and its errors."""
import pytest

import setting
from app import create_app
from setting import ConfigError, from_environment, get_config
from tests.backends import database_unused


@pytest.mark.parametrize("name, cls", [
    (None, setting.DevelopmentConfig),
    ("default", setting.DevelopmentConfig),
    ("development", setting.DevelopmentConfig),
    ("testing", setting.TestingConfig),
    ("production", setting.ProductionConfig),
])
def test_flask_config_selects_the_class(clean_env, name, cls):
    if name:
        clean_env.setenv("FLASK_CONFIG", name)
    assert get_config() is cls


def test_unknown_config_name_is_a_config_error(clean_env):
    clean_env.setenv("FLASK_CONFIG", "staging")
    with pytest.raises(ConfigError, match="unknown FLASK_CONFIG 'staging': choose one of"):
        get_config()


@pytest.mark.parametrize("name", ["development", "testing", "production"])
def test_database_url_overrides_every_config(clean_env, tmp_path, name):
    clean_env.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/override.db")
    clean_env.setenv("SECRET_KEY", "k" * 32)
    app = create_app(name)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/override.db"


def test_mysql_url_uses_pymysql(clean_env):
    clean_env.setenv("DATABASE_URL", "mysql://u:p@db.example/qa?charset=utf8mb4")
    app = create_app("development")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "mysql+pymysql://u:p@db.example/qa?charset=utf8mb4"


def test_development_database_lives_in_instance_folder(clean_env):
    app = create_app("development")
    with app.app_context():
        from exts import db

        assert db.engine.url.database == f"{app.instance_path}/dev.db"


def test_development_secret_key_is_stable_across_restarts(clean_env):
    assert create_app("development").secret_key == create_app("development").secret_key


@database_unused
def test_each_checkout_makes_its_own_development_key(project, tmp_path):
    """Not a published value: made at first start in the checkout's instance/ (git-ignored),
    readable by its owner only, and another checkout gets another."""
    other = type(project).copy(tmp_path / "another-checkout", project.database)
    script = "import app; print(app.app.secret_key)"
    keys = [p.process("-c", script).stdout.strip() for p in (project, project, other)]
    assert keys[0] == keys[1] != keys[2]
    assert len(keys[0]) == 64 and setting.PUBLISHED_DEV_KEY not in keys
    key_file = project.root / "instance" / "secret_key"
    assert key_file.read_text().strip() == keys[0]
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert "instance/" in (setting_root() / ".gitignore").read_text().splitlines()
    assert not any(setting.PUBLISHED_DEV_KEY in path.read_text()
                   for path in setting_root().glob("*.py") if path.name != "setting.py")


def setting_root():
    from pathlib import Path

    return Path(setting.__file__).parent


def test_development_on_mysql_gets_utf8mb4_strict_mode_and_the_pool(clean_env):
    """The base init_app runs in development too (a URL without charset gets utf8mb4)."""
    clean_env.setenv("DATABASE_URL", "mysql://u:p@db.example/qa")
    app = create_app("development")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "mysql+pymysql://u:p@db.example/qa?charset=utf8mb4"
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_reset_on_return"] is None and options["pool_recycle"] == 280
    assert options["connect_args"]["init_command"] == "SET SESSION sql_mode = 'TRADITIONAL'"


def test_development_on_mysql_refuses_latin1(clean_env):
    clean_env.setenv("DATABASE_URL", "mysql://u:p@db.example/qa?charset=latin1")
    with pytest.raises(ConfigError, match="DATABASE_URL asks for charset=latin1"):
        create_app("development")


def test_secret_key_from_environment(clean_env):
    clean_env.setenv("SECRET_KEY", "from-the-environment")
    assert create_app("development").secret_key == "from-the-environment"


@pytest.mark.parametrize("key", [None, "", setting.PUBLISHED_DEV_KEY])
def test_production_refuses_to_start_without_a_secret_key(clean_env, key):
    if key is not None:
        clean_env.setenv("SECRET_KEY", key)
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app("production")


def test_production_starts_with_a_secret_key(clean_env):
    clean_env.setenv("SECRET_KEY", "s" * 64)
    app = create_app("production")
    assert not app.debug and app.secret_key == "s" * 64


@database_unused
@pytest.mark.parametrize("env, message", [
    ({"FLASK_CONFIG": "production", "SECRET_KEY": ""}, "Error: SECRET_KEY is not set"),
    ({"FLASK_CONFIG": "nonsense"}, "Error: unknown FLASK_CONFIG 'nonsense'"),
])
def test_cli_config_errors_are_one_line(project, env, message):
    for result in (project.manage("db", "current", env=env, check=False),
                   project.flask("db", "current", env=env, check=False)):
        assert result.returncode == 1
        assert result.stderr.startswith(message)
        assert result.stderr.strip().count("\n") == 0


@database_unused
def test_the_real_entry_points_exit_1_with_one_line(project):
    """The same, through the real processes: python manage.py and flask --app app."""
    env = {"FLASK_CONFIG": "nonsense"}
    for args in (["manage.py", "db", "current"], ["-m", "flask", "--app", "app", "db", "current"]):
        result = project.process(*args, env=env, check=False)
        assert (result.returncode, result.stdout) == (1, "")
        assert result.stderr == ("Error: unknown FLASK_CONFIG 'nonsense': choose one of default, "
                                 "development, production, testing\n")


# -- mail settings ---------------------------------------------------------------------------

def test_mail_settings_come_from_the_environment():
    settings = from_environment({
        "MAIL_SERVER": "smtp.example.com", "MAIL_PORT": "587", "MAIL_USE_TLS": "true",
        "MAIL_USE_SSL": "0", "MAIL_USERNAME": "robot", "MAIL_PASSWORD": "hunter2",
        "MAIL_DEFAULT_SENDER": "Q&A <qa@example.com>",
    })
    assert settings == {
        "MAIL_SERVER": "smtp.example.com", "MAIL_PORT": 587, "MAIL_USE_TLS": True,
        "MAIL_USE_SSL": False, "MAIL_USERNAME": "robot", "MAIL_PASSWORD": "hunter2",
        "MAIL_DEFAULT_SENDER": "Q&A <qa@example.com>",
    }


@pytest.mark.parametrize("env, message", [
    ({"MAIL_PORT": "twenty-five"}, "MAIL_PORT must be a number, not 'twenty-five'"),
    ({"MAIL_USE_TLS": "maybe"}, "MAIL_USE_TLS must be true or false, not 'maybe'"),
])
def test_bad_mail_settings_are_config_errors(env, message):
    with pytest.raises(ConfigError, match=message):
        from_environment(env)


@database_unused
def test_bad_mail_setting_is_one_line_from_the_cli(project):
    result = project.manage("db", "current", env={"MAIL_PORT": "x"}, check=False)
    assert result.returncode == 1
    assert result.stderr == "Error: MAIL_PORT must be a number, not 'x'\n"


@pytest.mark.parametrize("config, env, console", [
    ("development", {}, True),
    ("development", {"MAIL_SERVER": "smtp.example.com"}, False),
    ("testing", {}, False),
    ("production", {"SECRET_KEY": "s" * 64}, False),
])
def test_console_mail_only_in_development_without_a_server(clean_env, config, env, console):
    for name, value in env.items():
        clean_env.setenv(name, value)
    app = create_app(config)
    assert app.config["MAIL_CONSOLE"] is console
    assert app.extensions["mail"].server == env.get("MAIL_SERVER", "127.0.0.1")
