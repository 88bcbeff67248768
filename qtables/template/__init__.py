"""What an issued template is, shared by every stage.

Owns where every cell lives (``layout``), the template's identity and signature (``identity``),
the sheet names and 自查 columns (``names``), and the Python runtime of the spec's derived cells
(``derived``) and rules (``rules``) over a workbook's figures.  Imports only ``qtables.spec`` and the base
modules (``errors``, ``period``, ``fsutil``); never the writer, the checker or the ledger.
"""
