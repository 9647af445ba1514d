"""db check: do the models match the migrations at head?"""
from alembic import autogenerate
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory

from schema_safety.autogen import CHECK_FLAG
from schema_safety.describe import describe, flatten
from schema_safety.errors import SafetyError


def differences(config):
    """What autogenerate would write now, one line per operation; empty when in sync.

    Compares against the database, which must be at head: the migrations at head are what
    the models must match.
    """
    setattr(config.cmd_opts, CHECK_FLAG, True)
    script_directory = ScriptDirectory.from_config(config)
    command_args = dict(message=None, autogenerate=True, sql=False, head="head", splice=False,
                        branch_label=None, version_path=None, rev_id=None, depends_on=None)
    revision_context = autogenerate.RevisionContext(config, script_directory, command_args)
    seen = {}

    def compare(rev, context):
        heads = {script.revision for script in script_directory.get_revisions("heads")}
        current = {script.revision for script in script_directory.get_revisions(rev)}
        if current != heads:
            raise SafetyError(
                f"the database is at {', '.join(sorted(current)) or 'base (no revision)'}, "
                f"not at head ({', '.join(sorted(heads))}): db check compares the models with "
                "a database at head. Run db upgrade first (on a scratch database if this one "
                "holds data you care about)."
            )
        seen["dialect"] = context.dialect
        seen["heads"] = sorted(heads)
        revision_context.run_autogenerate(rev, context)
        return []

    with EnvironmentContext(config, script_directory, fn=compare, as_sql=False,
                            template_args=revision_context.template_args,
                            revision_context=revision_context):
        script_directory.run_env()

    script = revision_context.generated_revisions[-1]
    lines = [describe(op, seen.get("dialect")) for op in flatten(script.upgrade_ops)]
    return lines, seen.get("heads", [])
