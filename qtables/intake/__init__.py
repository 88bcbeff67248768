"""Taking in what arrives: files, folders, mail (eml, mbox, Maildir, msg, IMAP) and zip archives.

Owns unpacking arrivals into items (``sources``), archiving, checking and recording each item
(``run``), IMAP (``imap``) and reply mails and SMTP (``mail``).  Imports ``check``, ``ledger``,
``template``, ``spec`` and the base modules; never ``merge`` or the CLI.
"""
