"""Reading untrusted bytes into cells and headers: the one stage that opens what arrives.

Owns opening a workbook by its content (``workbook``: .xlsx/.xlsm/.xls/.ods, calamine behind the guards), the
zip package looked at before any reader parses it (``package``), each sheet's cells placed before they are loaded
(``extent``), SpreadsheetML by hand (``sheetxml``) and zip copying (``zipcopy``), the second ODS reader
(``odsread``), header and unit recognition of hand-made tables (``headers``) and every cell clean-up
(``normalize``).  Imports ``spec`` and the base modules only.
"""
