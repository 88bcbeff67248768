"""Checking a returned workbook: the checks that turn what ``qtables.read`` read into findings.

Owns the order of the checks (``checker``: identity, structure, values, derived cells, rules, 说明, other periods,
project lifecycle), the catalogue of finding codes (``findings``), the materials due beside the 附表
(``materials``) and the terminal report (``report``).  Imports ``read``, ``spec``, ``template`` and the base
modules; never the template writer (``qtables.issue``), the ledger or intake.
"""
