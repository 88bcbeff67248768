"""Write seed inputs for the fuzz targets: python fuzz/seeds.py DIR_WORKBOOK DIR_MESSAGE."""

from __future__ import annotations

import io
import sys
from email.message import EmailMessage
from pathlib import Path

from qtables.devtools import samplegen
from qtables.issue.workbook import IssueRequest, build_workbook
from qtables.template.names import tables_for
from qtables.template.layout import TableLayout
from qtables.period import Period
from qtables.spec.registry import load_registry
from qtables.spec import load_spec


def main(book_dir: Path, mail_dir: Path) -> None:
    spec = load_spec()
    unit = load_registry().unit("411729")
    period = Period.parse("2025Q3")
    sets, tids = tables_for(spec, period)
    layouts = [TableLayout.for_unit(spec.table(t), unit) for t in tids]
    filling = samplegen.generate(layouts, unit, period, seed=1)
    buf = io.BytesIO()
    build_workbook(buf, spec=spec, request=IssueRequest(unit, period, tids, sets, values=filling.values), key=b"f" * 32, password="p")
    book_dir.mkdir(parents=True, exist_ok=True)
    mail_dir.mkdir(parents=True, exist_ok=True)
    (book_dir / "template.xlsx").write_bytes(buf.getvalue())
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "a@x.cn", "附表"
    msg.set_content("请查收")
    msg.add_attachment(b"PK\x03\x04" + b"0" * 64, maintype="application", subtype="zip", filename="新蔡县附表.zip")
    (mail_dir / "mail.eml").write_bytes(bytes(msg))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
