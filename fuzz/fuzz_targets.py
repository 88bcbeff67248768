"""Coverage-guided fuzz targets (atheris) over reading a workbook and parsing a message.

    python fuzz/fuzz_targets.py workbook [-max_total_time=60] [corpus_dir]
    python fuzz/fuzz_targets.py message  [-max_total_time=60] [corpus_dir]

Each input must end in a coded outcome: findings for a workbook, items for a
message. Anything else raising is a crash that libFuzzer reports and saves.
Seeds: a filled template and an .eml built at start-up, so mutations begin
from realistic structure.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from qtables.check.checker import check_file
    from qtables.check.context import CheckContext
    from qtables.read.workbook import ReadLimits
    from qtables.spec.registry import load_registry
    from qtables.intake.items import Limits
    from qtables.intake.messages import message_items
    from qtables.spec import load_spec

SPEC = load_spec()
CTX = CheckContext(SPEC, load_registry(), b"f" * 32, limits=ReadLimits(decompressed_bytes=4 * 1024 * 1024, sheet_rows=2000))
LIMITS = Limits(attachment_bytes=1024 * 1024, decompressed_bytes=4 * 1024 * 1024, nesting_depth=4, messages_per_run=50)


def workbook(data: bytes) -> None:
    report = check_file("fuzz.xlsx", CTX, data=data)
    assert report.findings or report.status == "accepted"


def message(data: bytes) -> None:
    for item in message_items(data, "fuzz", "fuzz", LIMITS):
        assert isinstance(item.data, bytes) and isinstance(item.name, str)


TARGETS = {"workbook": workbook, "message": message}

if __name__ == "__main__":
    target = TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0]] + sys.argv[2:], target)
    atheris.Fuzz()
