"""The annotated receipt returned to each submitter: a copy of their own workbook with every finding marked at its
cell and the 审核结果 sheet in front (``workbook``), made by editing the submitted package in place where it can
(``package``), with openpyxl as the fallback editor.  Imports ``read``, ``check``, ``template`` and the base modules.
"""
