"""From the ledger to the province: the master workbook (``master`` and its sheet modules),
import of a previous master or an official 附表 layout (``importer``), and a city's counties filled
into the province's template (``upward``).

Imports ``ledger``, ``status``, ``check`` (reading), ``intake`` (import-master re-checks later filings), ``template``, ``spec`` and the base modules.
"""
