"""runserver: warns when the database is behind, and keeps the debugger off the network."""
import ipaddress
import os
import sys

from flask_script import Option, Server

from migration_safety.status import check_now

NETWORK_OPT_IN = "--debugger-on-network"


def is_loopback(host):
    """Whether only this machine can reach a server bound to *host*."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to an address others reach


class CheckedServer(Server):
    """Runs the development server (the debugger only on loopback, unless --debugger-on-network)."""

    def get_options(self):
        return super().get_options() + (
            Option(NETWORK_OPT_IN, dest="debugger_on_network", action="store_true",
                   default=False,
                   help="keep the Werkzeug debugger on although the server listens on an "
                        "address other machines reach: anyone who can open a page can then "
                        "run code on this machine"),
        )

    def __call__(self, app, host, port, use_debugger, use_reloader, *args,
                 debugger_on_network=False, **kwargs):
        debugger = app.debug if use_debugger is None else use_debugger
        reloader = debugger if use_reloader is None else use_reloader
        if debugger and not debugger_on_network and not is_loopback(host):
            # The debugger shows every traceback and runs code typed into it: not for others.
            debugger = False
            print(f"The debugger is off: {host} is reachable from other machines. Listen on "
                  f"127.0.0.1, or add {NETWORK_OPT_IN} to expose it on purpose.",
                  file=sys.stderr)
        # With the reloader the server runs in a child process: check there, once.
        if not reloader or os.environ.get("WERKZEUG_RUN_MAIN") == "true":
            check_now(app)
        super().__call__(app, host, port, debugger, reloader, *args, **kwargs)
