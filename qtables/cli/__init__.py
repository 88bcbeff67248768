"""The command line: thin click commands over the library; the only package that imports click.

``app`` holds the group and error handling, ``setup`` the commands that make things (init, issue,
check) and ``flow`` those over the ledger (intake, status, merge, import-master, demo), ``analyst`` export, ``ledger_cmd`` the ledger's copy between backends, ``office`` remind and run-daily, ``web_cmd`` serve and user.  Each
command parses options, calls one library function and prints Chinese.
"""

from qtables.cli import analyst, flow, ledger_cmd, office, setup, web_cmd  # importing registers the commands
from qtables.cli.app import main

__all__ = ["main", "analyst", "flow", "ledger_cmd", "office", "setup", "web_cmd"]
