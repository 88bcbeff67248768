"""Mutation fuzzing of intake and check end to end, without atheris: the bundled sample mails and their
workbooks, changed at random where it matters (headers and the start of the attachments; a sheet's XML
after <sheetData>), run through ``intake`` and ``check_file``.  Anything but a coded outcome is printed
with its traceback and the input is kept.

    python fuzz/mutations.py mail --seconds 120 --seed 3
    python fuzz/mutations.py sheet --seconds 120 --seed 3
    python fuzz/mutations.py mail --runs 150 --seed 5          # a fixed set of inputs (the test suite runs this)

Found this way (2026-12-02): a damaged member stopping every later intake (receipt editor), an unknown
XML encoding raising LookupError, a Chinese sender address stopping the reply writer, a signature edited
into Chinese raising TypeError, and (with .xls/.ods inputs) a cut BIFF record.
"""

from __future__ import annotations

import argparse
import email
import io
import random
import shutil
import sys
import tempfile
import time
import traceback
import zipfile
from email import policy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAIL_TOKENS = [b"\r\n", b"\n", b"=?utf-8?b?", b"?=", b"=?gbk?q?", b"\xff\xfe", b"\xe5\xbc\xa0", b"\x00", b"--", b"boundary=",
               b"Content-Type: message/rfc822\n", b"filename*=", b"''", b"%E4", b";", b'"', b"\n\n", b"From: ", b"Message-ID: <x\n>"]
SHEET_TOKENS = [b"<c>", b"<c/>", b'<c r="ZZZ9">', b' r="xfd1"', b"<row/>", b"</row>", b"<!--", b"-->", b"<![CDATA[", b"]]>", b'"',
                b"'", b">", b"<", b":", b"sheetData", b"<x:c>", b"&", b"\x00", b"999999", b'encoding="U9F-8"']


def _mutate(data: bytes, rng: random.Random, start: int, end: int, tokens: list[bytes]) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 5)):
        pos = rng.randrange(start, max(start + 1, min(len(out), end)))
        roll = rng.random()
        if roll < 0.5:
            out[pos:pos] = rng.choice(tokens)
        elif roll < 0.8:
            del out[pos:pos + rng.randint(1, 30)]
        else:
            out[pos] = rng.randrange(256)
    return bytes(out)


def _workbooks(mails: list[bytes]) -> list[bytes]:
    books = []
    for raw in mails:
        msg = email.message_from_bytes(raw, policy=policy.default)
        books += [p.get_content() for p in msg.iter_attachments() if (p.get_filename() or "").endswith(".xlsx")]
    return books


def _rezip(data: bytes, part: str, edit) -> bytes:
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            blob = src.read(info.filename)
            dst.writestr(info.filename, edit(blob) if info.filename == part else blob)
    return out.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["mail", "sheet"])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=0, help="stop after this many inputs (0: only the time limit)")
    ap.add_argument("--keep", type=Path, default=Path("fuzz-found"))
    args = ap.parse_args()
    from qtables.check.checker import check_file
    from qtables.check.context import CheckContext
    from qtables.devtools.generate import SAMPLE_KEY
    from qtables.intake.run import intake
    from qtables.ledger.workspace import init_workspace
    from qtables.spec import load_spec

    rng = random.Random(args.seed)
    mails = [p.read_bytes() for p in sorted((ROOT / "samples").glob("*/*.eml"))]
    root = Path(tempfile.mkdtemp(prefix="qtables-mutations-"))
    spec = load_spec()
    ws = init_workspace(root / "ws", signing_key=SAMPLE_KEY)
    ctx = CheckContext(spec, ws.registry, ws.signing_key)
    books = _workbooks(mails[:8]) if args.mode == "sheet" else []
    runs = found = 0
    deadline = time.time() + args.seconds
    while time.time() < deadline and found < 5 and not (args.runs and runs >= args.runs):
        runs += 1
        if args.mode == "mail":
            raw = rng.choice(mails)
            data = _mutate(raw, rng, 0, raw.find(b"\n\n") + 3000, MAIL_TOKENS)
            box = root / f"in{runs}"
            box.mkdir()
            (box / "m.eml").write_bytes(data)
            run, name = (lambda: intake(ws, [box], spec=spec)), "m.eml"
        else:
            part = f"xl/worksheets/sheet{rng.randint(1, 11)}.xml"
            data = _rezip(rng.choice(books), part, lambda b: _mutate(b, rng, max(0, b.find(b"<sheetData")), len(b), SHEET_TOKENS))
            run, name = (lambda: check_file("m.xlsx", ctx, data=data)), "m.xlsx"
        try:
            run()
        except BaseException:  # noqa: BLE001 - what this script is for
            found += 1
            args.keep.mkdir(parents=True, exist_ok=True)
            kept = args.keep / f"{args.mode}-{args.seed}-{runs}-{name}"
            kept.write_bytes(data)
            print(f"run {runs}: kept {kept}", file=sys.stderr)
            traceback.print_exc()
        if args.mode == "mail":
            shutil.rmtree(root / f"in{runs}", ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    print(f"{runs} runs, {found} found")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
