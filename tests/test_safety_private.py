"""The migration-safety package: private library names in one adapter, no import cycle."""
import ast
import subprocess
import sys

from migration_safety import private
from tests.cli import ROOT

PACKAGE = ROOT / "migration_safety"


def test_the_private_names_migration_safety_uses_are_all_still_there():
    """Fails loudly when an Alembic or SQLAlchemy upgrade moves one of them."""
    assert private.canary() == []


def _private_uses(path):
    """Attributes and imported names starting with one underscore that are not our own."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                and not node.attr.startswith("__"):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                found.append(f"{path.name}:{node.lineno} .{node.attr}")
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in (
                "alembic", "sqlalchemy", "flask_migrate"):
            found += [f"{path.name}:{node.lineno} {node.module}.{alias.name}"
                      for alias in node.names if alias.name.startswith("_")]
            if any(part.startswith("_") for part in (node.module or "").split(".")):
                found.append(f"{path.name}:{node.lineno} {node.module}")
    return found


def test_no_private_library_name_outside_the_adapter():
    paths = [p for p in PACKAGE.glob("*.py") if p.name != "private.py"]
    paths += list((ROOT / "cli").glob("*.py")) + [ROOT / "migrations" / "env.py"]
    assert [use for path in paths for use in _private_uses(path)] == []
    # The adapter itself does use them (the test above would find nothing otherwise).
    assert _private_uses(PACKAGE / "private.py")


def test_the_package_imports_nothing_of_the_cli():
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for module in modules:
                assert module.split(".")[0] not in ("cli", "manage", "app"), \
                    f"{path.name} imports {module}"


IMPORT_EACH_FIRST = """
import importlib, pkgutil, sys
import compat, migration_safety
names = [f"migration_safety.{m.name}" for m in pkgutil.iter_modules(migration_safety.__path__)]
for name in names + ["migration_safety", "cli.db", "cli.recover"]:
    for loaded in [k for k in sys.modules if k.split(".")[0] in ("migration_safety", "cli")]:
        del sys.modules[loaded]
    importlib.import_module(name)
print(len(names))
"""


def test_each_module_imports_first_without_a_cycle():
    """Every module of the package, and the CLI modules on top, imports first (its
    registrations with Alembic survive a second import, too)."""
    result = subprocess.run([sys.executable, "-c", IMPORT_EACH_FIRST], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == len(list(PACKAGE.glob("*.py"))) - 1


def test_every_risk_kind_is_in_the_readme_table():
    from migration_safety.risks import KINDS

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("### Schema changes that never lose data"):]
    table = table[:table.index("\n\n", table.index("| change |"))]
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    for kind in KINDS:
        assert any(row.startswith(f"| {kind.change}") for row in rows), kind.change
