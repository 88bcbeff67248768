"""What is kept between runs: the workspace (``workspace``: qtables.toml, units.json, folders) and
the SQLite ledger with its migrations and the content-addressed read-only archive (``store``).

Imports only ``spec`` and the base modules, so every later stage can read and write it.
"""
