"""Questions asked on the user's terminal; never asked when stdin is not one."""
import sys

from migration_safety.errors import SafetyError


def interactive(options):
    """True when questions can be asked: stdin is a terminal and --no-input was not given."""
    try:
        return sys.stdin.isatty() and not options.no_input
    except (AttributeError, ValueError):
        return False


def _read(prompt):
    # Questions go to stderr so that they stay visible when stdout is redirected.
    sys.stderr.write(prompt)
    sys.stderr.flush()
    try:
        line = sys.stdin.readline()
    except KeyboardInterrupt:
        line = None
    if not line:  # Ctrl-D, Ctrl-C or a closed terminal
        sys.stderr.write("\n")
        raise SafetyError("stopped at a question: no script was written")
    return line.rstrip("\r\n")


def ask_yes_no(question):
    """Ask *question* ending in ``[y/N]``; Enter means no."""
    while True:
        answer = _read(f"{question} [y/N] ").strip().lower()
        if answer in ("y", "yes"):
            return True
        if answer in ("", "n", "no"):
            return False
        sys.stderr.write("Please answer y or n.\n")


def ask_value(prompt, parse):
    """Ask until *parse* accepts the answer (it raises ValueError with the reason otherwise).

    An empty answer stops: returns None.
    """
    while True:
        answer = _read(prompt)
        if not answer.strip():
            return None
        try:
            return parse(answer)
        except ValueError as exc:
            sys.stderr.write(f"{exc}\n")
