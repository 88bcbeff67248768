"""Reading and checking a returned workbook.

Owns opening files by content (``read``, the package looked at first by ``package``), cell clean-up (``normalize``), the checks that turn a
workbook into findings (``checker`` and its parts), the catalogue of finding codes (``findings``),
the annotated receipt (``receipt``) and the terminal report (``report``).  Imports ``spec``,
``template`` and the base modules; never the template writer (``qtables.issue``), the ledger or
intake.
"""
