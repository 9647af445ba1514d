"""Schema changes that never lose data. migrations/env.py hands Alembic one object, ``Safety``
(safety.py); the other modules are its parts, and those of manage.py's db commands."""
# Nothing is imported here: every start of the app imports migration_safety.status (app.py),
# manage.py --help included, and the modules behind Safety (the gate, the units, the keeps,
# the review) took 20 ms to import that only a migration needs. They load at the first
# use of a name below (PEP 562).

__all__ = ["Safety", "include_name"]


def __getattr__(name):
    if name == "Safety":
        from migration_safety.safety import Safety
        return Safety
    if name == "include_name":
        from migration_safety.names import include_name
        return include_name
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
