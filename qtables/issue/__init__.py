"""Writing the locked, self-checking 附表 templates (xlsxwriter).

Owns the request of one workbook (``request``), its cell formats (``formats``), the 附表 sheets
(``tables``), the other sheets (``sheets``: 自查, _checks, 填表说明, lists, identity), the compiler
of rules to live formulas (``selfcheck``), the workbook as a whole (``workbook``) and issuing a
period's templates for a workspace's units (``run``).  Imports ``spec``, ``template``, ``ledger``
and the base modules; nothing reads workbooks through this package.
"""
