"""按时 as the 考评 needs it: our side's received time, in 北京时间, the first version and its correction."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner

from conftest import TEST_KEY
from mailfixtures import python_eml
from test_periods import UNIT, chain, write
from qtables.cli import main
from qtables.intake.messages import message_items
from qtables.intake.run import intake
from qtables.ledger.workspace import init_workspace
from qtables.period import Period
from qtables.status import Timeliness, period_status

LIMIT = date(2025, 9, 30)


def v(status, when):
    return {"status": status, "received_at": when}


@pytest.mark.parametrize("versions, current, expected", [
    # hand-worked: (versions as received, current status) -> 按时 text
    ([v("accepted", "2025-09-30T23:59:00+08:00")], "accepted", (True, "按时")),
    ([v("accepted", "2025-09-30T16:30:00+00:00")], "accepted", (False, "逾期")),  # = 10-01 00:30 北京时间
    ([v("rejected", "2025-09-29T10:00:00+08:00"), v("accepted", "2025-10-08T10:00:00+08:00")], "accepted",
     (True, "按时（退回后按期更正）")),  # on time, corrected within 10 days
    ([v("rejected", "2025-09-29T10:00:00+08:00"), v("accepted", "2025-10-20T10:00:00+08:00")], "accepted", (False, "逾期")),
    ([v("rejected", "2025-09-29T10:00:00+08:00")], "rejected", (False, "退回未更正")),  # never corrected: not 按时
    ([v("rejected", "2025-09-29T10:00:00+08:00"), v("rejected", "2025-10-03T10:00:00+08:00"),
      v("accepted", "2025-10-09T10:00:00+08:00")], "accepted", (True, "按时（退回后按期更正）")),
    ([v("accepted", "2025-10-02T10:00:00+08:00")], "accepted", (False, "逾期")),
    ([v("accepted", "2025-09-20T10:00:00+08:00"), v("accepted", "2025-10-15T10:00:00+08:00")], "accepted", (True, "按时")),
])
def test_timeliness_by_hand(versions, current, expected):
    got = Timeliness.of(versions, current, LIMIT, 10, today=date(2026, 1, 1))
    assert (got.on_time, got.text) == expected


def test_a_rejected_filing_within_its_time_is_still_to_be_corrected():
    got = Timeliness.of([v("rejected", "2025-09-29T10:00:00+08:00")], "rejected", LIMIT, 10, today=date(2025, 10, 5))
    assert (got.on_time, got.text) == (None, "待更正")


def _items(date_header, received=None):
    eml = python_eml("a@b.cn", [("x.xlsx", b"PK\x03\x04")], date="Mon, 01 Jan 2024 00:00:00 +0800")
    eml = eml.replace(b"Mon, 01 Jan 2024 00:00:00 +0800", date_header.encode())  # as written, not re-rendered by the policy
    if received:
        eml = f"Received: from mx.sender.cn by mx.hnjs.gov.cn; {received}\r\n".encode() + eml
    return list(message_items(eml, "t", "t"))


def test_the_same_instant_in_two_offsets_is_one_beijing_time_and_our_server_beats_the_sender():
    [utc] = _items("Tue, 30 Sep 2025 16:30:00 +0000")
    [cst] = _items("Wed, 01 Oct 2025 00:30:00 +0800")
    assert utc.received_at == cst.received_at == "2025-10-01T00:30:00+08:00"
    assert utc.received_basis == "date"
    [ours] = _items("Tue, 30 Sep 2025 10:00:00 +0800", received="Thu, 02 Oct 2025 08:00:00 +0800")
    assert (ours.received_at, ours.received_basis) == ("2025-10-02T08:00:00+08:00", "received")
    [none] = _items("Tue, 30 Sep 2025 23:00:00")  # no zone: 北京时间, not UTC
    assert none.received_at == "2025-09-30T23:00:00+08:00"


def test_offsets_and_registered_paper_dates_end_to_end(spec, tmp_path):
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    q3 = chain(spec, ws.registry, UNIT)["2025Q3"]
    path = write(tmp_path / "q3.xlsx", spec, ws, UNIT, "2025Q3", q3)
    eml = tmp_path / "q3.eml"
    eml.write_bytes(python_eml("a@b.cn", [(path.name, path.read_bytes())], date="Tue, 30 Sep 2025 16:30:00 +0000"))
    intake(ws, [eml], spec=spec)
    [unit] = [u for u in period_status(ws, spec, Period.parse("2025Q3"))["units"] if u["code"] == UNIT]
    assert (unit["timing"], unit["first_received"]) == ("逾期", "2025-10-01T00:30:00+08:00")
    # Mailed paper: the clerk registers the day it arrived.
    paper = init_workspace(tmp_path / "paper", signing_key=TEST_KEY)
    bad = CliRunner().invoke(main, ["intake", "--workspace", str(paper.path), str(path), "--received-at", "9月28日"])
    assert bad.exit_code == 2 and "U035" in bad.output
    ok = CliRunner().invoke(main, ["intake", "--workspace", str(paper.path), str(path), "--received-at", "2025-09-28"])
    assert ok.exit_code == 0, ok.output
    [unit] = [u for u in period_status(paper, spec, Period.parse("2025Q3"))["units"] if u["code"] == UNIT]
    assert (unit["timing"], unit["first_received"]) == ("按时", "2025-09-28T00:00:00+08:00")
    assert "邮寄" in unit["received_basis"]
