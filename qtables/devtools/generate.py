"""Maintenance commands for generated files that are committed to the repository.

``python -m qtables.devtools templates`` rewrites ``templates_xlsx/``: the blank
2025Q3 templates of all 28 units, signed with the published sample key below.
A test regenerates them and compares part by part, so they never drift from
the spec.  The sample key signs only these examples; a real workspace makes its
own key at ``qtables init``.
"""

from __future__ import annotations

import datetime
import email.utils

import sys
import tempfile
from pathlib import Path

from qtables.issue.run import issue_templates
from qtables.period import Period
from qtables.ledger.workspace import init_workspace

SAMPLE_KEY = "73616d706c652d6b65792d6f6e6c792d666f722d717461626c65732d64656d6f"  # "sample-key-only-for-qtables-demo"
SAMPLE_PERIOD = "2025Q3"
SAMPLE_PASSWORD = "qtables-sample"


def sample_workspace(path: Path):
    ws = init_workspace(path, signing_key=SAMPLE_KEY)
    ws.config["template"]["protection_password"] = SAMPLE_PASSWORD
    return ws


def build_templates(out_dir: Path) -> list[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        ws = sample_workspace(Path(tmp) / "ws")
        issued = issue_templates(ws, period=Period.parse(SAMPLE_PERIOD), out_dir=out_dir)
    return [i.path for i in issued]


SAMPLE_PERIODS = ("2025Q2", "2025Q3")
SAMPLE_DATES = {"2025Q2": "Mon, 30 Jun 2025 {h:02d}:{m:02d}:00 +0800", "2025Q3": "Tue, 30 Sep 2025 {h:02d}:{m:02d}:00 +0800"}
LATE_DATE = "Thu, 09 Oct 2025 16:20:00 +0800"
RESUBMIT_DATE = "Wed, 08 Oct 2025 11:05:00 +0800"


def _sample_mistakes():
    """The handful of realistic mistakes in the 2025Q3 sample inbox, by unit code."""
    return {
        "410300": ("满意率填成了120", lambda v: v["t5"][0].update(satisfaction_rate=120), {}),
        "411300": ("在建数与接转、新注册、竣工不平衡，已写明原因",
                   lambda v: v["t5"][1].update(ucon_count=v["t5"][1]["ucon_count"] + 1),
                   {"t5:T5-05:ucon_count": "卧龙区1项工程因规划调整暂停，监督注册未注销，仍按在建统计"}),
        "411400": ("在建数不平衡，说明只写了“已核实”", lambda v: v["t5"][2].update(ucon_count=v["t5"][2]["ucon_count"] + 2),
                   {"t5:T5-05:ucon_count": "已核实"}),
        "411500": ("附表3面积按万㎡填写", lambda v: v["t3"][0].update(area=round(v["t3"][0]["area"] / 10000, 2)), {}),
        "410600": ("备案日期早于竣工日期（随后改正重报）",
                   lambda v: _file_before_completion(v), {}),
    }


def _file_before_completion(values) -> None:
    from datetime import timedelta

    filed = [row for row in values["t4"] if row.get("filed_date")]
    if filed:
        filed[0]["filed_date"] = filed[0]["done_date"] - timedelta(days=3)
    else:
        values["t5"][0]["accident_deaths"] = 1


def analysis_report(unit_name: str, period_label: str) -> bytes:
    """A small, valid Word document (deterministic bytes): the unit's 《工程质量分析报告》 for the period."""
    import io
    import zipfile
    from xml.sax.saxutils import escape

    paragraphs = [f"{unit_name}{period_label}工程质量分析报告",
                  f"一、本地工程质量总体状况：{period_label}，本地在建工程质量总体受控，未发生较大及以上工程质量事故。",
                  "二、主要问题与原因分析：部分项目质量行为不规范，个别项目实体质量存在通病。",
                  "三、下一步工作措施：加强日常监督抽查，督促责任主体落实质量责任。"]
    body = "".join(f"<w:p><w:r><w:t>{escape(p)}</w:t></w:r></w:p>" for p in paragraphs)
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                               '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                               '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
                               'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                       '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
                       'Target="word/document.xml"/></Relationships>',
        "word/document.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document '
                             f'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>',
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2025, 9, 28, 9, 0, 0)), text.encode("utf-8"))
    return out.getvalue()


def build_samples(out_dir: Path) -> list[Path]:
    """The sample inbox: .eml files from all 28 units for 2025Q2 and 2025Q3 (deterministic)."""
    import io
    import zipfile
    from email.message import EmailMessage

    from qtables.devtools import samplegen
    from qtables.issue.workbook import IssueRequest, build_workbook
    from qtables.template.names import tables_for
    from qtables.template.layout import TableLayout
    from qtables.spec import load_spec

    spec = load_spec()
    written: list[Path] = []
    mistakes = _sample_mistakes()
    with tempfile.TemporaryDirectory() as tmp:
        ws = sample_workspace(Path(tmp) / "ws")
        for u_index, unit in enumerate(ws.registry.units):
            previous = None
            for p_index, code in enumerate(SAMPLE_PERIODS):
                period = Period.parse(code)
                set_names, table_ids = tables_for(spec, period)
                layouts = [TableLayout.for_unit(spec.table(t), unit) for t in table_ids]
                filling = samplegen.generate(layouts, unit, period, seed=2025, previous=previous)
                previous = filling
                versions = [(filling.values, {}, None)]
                if code == "2025Q3" and unit.code in mistakes:
                    _label, mutate, notes = mistakes[unit.code]
                    import copy

                    wrong = copy.deepcopy(filling.values)
                    mutate(wrong)
                    versions = [(wrong, notes, None)]
                    if unit.code == "410600":
                        versions.append((filling.values, {}, RESUBMIT_DATE))  # the corrected resubmission
                for v_index, (values, notes, date) in enumerate(versions):
                    buf = io.BytesIO()
                    build_workbook(buf, spec=spec, request=IssueRequest(unit, period, table_ids, set_names, values=values,
                                   line_values=filling.line_values, notes=notes), key=ws.signing_key, password=SAMPLE_PASSWORD)
                    book = buf.getvalue()
                    name = f"{unit.name}{period.label}建设工程质量分析报告附表{'（修改）' if v_index else ''}.xlsx"
                    sender = f"zljd{unit.code}@example.gov.cn"
                    msg = EmailMessage()
                    msg["From"] = f"{unit.name}住建局质量监督站 <{sender}>"
                    msg["To"] = "省建设工程质量监督总站 <zlzz@example.gov.cn>"
                    msg["Subject"] = f"{'【更正】' if v_index else ''}{unit.name}{period.label}工程质量分析报告"
                    when = date or (LATE_DATE if (code == "2025Q3" and unit.code == "411600") else
                                    SAMPLE_DATES[code].format(h=9 + u_index % 8, m=(7 * u_index) % 60))
                    msg["Date"] = when
                    msg["Message-ID"] = f"<{code}.{unit.code}.{v_index}@example.gov.cn>"
                    msg.set_content(f"省总站：\n\n报送{unit.name}{period.label}工程质量分析报告附表，请审核。\n\n{unit.name}质量监督站")
                    if code == "2025Q3" and unit.code == "410200":
                        # 开封 zips the workbook on Chinese Windows: GBK member name, no UTF-8 flag.
                        raw = name.encode("gbk")
                        placeholder = b"x" * len(raw)
                        zbuf = io.BytesIO()
                        with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as zf:
                            info = zipfile.ZipInfo(placeholder.decode(), date_time=(2025, 9, 30, 9, 0, 0))
                            zf.writestr(info, book)
                        msg.add_attachment(zbuf.getvalue().replace(placeholder, raw), maintype="application", subtype="zip",
                                           filename=f"{unit.name}附表.zip")
                    else:
                        msg.add_attachment(book, maintype="application",
                                           subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=name)
                    if not v_index and u_index % 7 != 3:
                        # Most units send their 《工程质量分析报告》 (第五条、第十条) as a Word document with the 附表;
                        # 4 of 28 do not, so the demo's 催报名单 is a realistic handful.
                        msg.add_attachment(analysis_report(unit.name, period.label), maintype="application",
                                           subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                                           filename=f"{unit.name}{period.label}工程质量分析报告.docx")
                    if unit.kind == "city" and u_index % 3 == 0:
                        scan = b"%PDF-1.4\n% " + f"{unit.name}{period.label}附表盖章扫描件".encode() + b"\n%%EOF\n"
                        msg.add_attachment(scan, maintype="application", subtype="pdf", filename=f"{unit.name}附表（盖章）.pdf")
                    msg.set_boundary(f"qtables-sample-{code}-{unit.code}-{v_index}")
                    folder = out_dir / code
                    folder.mkdir(parents=True, exist_ok=True)
                    path = folder / f"{unit.code}_{v_index}.eml"
                    data = bytes(msg)
                    if code == "2025Q3" and unit.code == "411100":
                        # 漯河's mail was forwarded by a colleague: the workbook sits inside message/rfc822.
                        fwd = EmailMessage()
                        fwd["From"] = f"漯河市住建局办公室 <bgs{unit.code}@example.gov.cn>"
                        fwd["To"] = msg["To"]
                        fwd["Subject"] = "转发：" + msg["Subject"]
                        fwd["Date"] = when
                        fwd["Message-ID"] = f"<fwd.{code}.{unit.code}@example.gov.cn>"
                        fwd.set_content("转发监督站的报表。")
                        from email import message_from_bytes, policy

                        fwd.add_attachment(message_from_bytes(data, policy=policy.default))
                        fwd.set_boundary(f"qtables-sample-fwd-{code}-{unit.code}")
                        data = bytes(fwd)
                    # The province's own server stamps what it took in (the time 按时 is judged by, qtables.timing);
                    # 滑县's mail client sends its Date in UTC: the same instant, shown in 北京时间.
                    sent = email.utils.parsedate_to_datetime(when)
                    if code == "2025Q3" and unit.code == "410526":
                        data = data.replace(f"Date: {when}".encode(), f"Date: {email.utils.format_datetime(sent.astimezone(datetime.timezone.utc))}".encode(), 1)
                    stamp = email.utils.format_datetime(sent + datetime.timedelta(seconds=40))
                    data = f"Received: from mail.example.gov.cn by mx.hnjs.gov.cn with ESMTPS; {stamp}\r\n".encode() + data
                    path.write_bytes(data)
                    written.append(path)
    return written


def findings_page() -> str:
    """docs/findings.md: every finding code, from the catalogue and the spec."""
    from qtables.check.findings import CATALOGUE, SEVERITY_TEXT
    from qtables.spec import load_spec

    spec = load_spec()
    lines = [
        "# 审核问题代码一览（自动生成，请勿手改）",
        "",
        "由 `python -m qtables.devtools findings` 根据 `qtables/check/findings.py` 与规格 `schemas/` 生成。",
        "类别：无法审核（退出码 2）、强制性（退回，退出码 1）、核实性（写明说明后可接受）、提示。",
        "",
        "## 文件、标识、结构、数值",
        "",
        "| 代码 | 类别 | 名称 | 说明 | 处理办法 |",
        "|---|---|---|---|---|",
    ]
    for t in CATALOGUE.values():
        lines.append(f"| {t.code} | {SEVERITY_TEXT[t.severity]} | {t.title} | {t.template} | {t.fix} |")
    lines += ["", f"## 审核规则（规格版本 {spec.version}）", "", "| 代码 | 类别 | 表 | 审核内容 | 表达式 |", "|---|---|---|---|---|"]
    seen = set()
    for table in spec.tables.values():
        for rule in table.rules + [r for r in spec.workbook_rules if r.table == table.id]:
            key = (rule.code, table.id, rule.message)
            if key in seen:
                continue
            seen.add(key)
            text = rule.assertion_text.replace("|", "\\|")
            when = f"（当 `{rule.when_text}`）" if rule.when_text else ""
            lines.append(f"| {rule.code} | {SEVERITY_TEXT[rule.severity]} | {table.name} | {rule.message} | `{text}`{when} |")
    if spec.continuity:
        c = spec.continuity
        lines += ["", "## 项目连续性（跨期，按工程质量监督注册号）", "",
                  f"以上一期通过审核的{spec.table(c['ongoing']).name}为准，核对本期{spec.table(c['ongoing']).name}（在建）与"
                  f"{spec.table(c['completed']).name}（竣工）；比较的信息：" + "、".join(spec.table(c["ongoing"]).column(x).label for x in c["compare"])
                  + "。上期明细缺失时给出 P04，不会静默跳过。", "",
                  "| 代码 | 类别 | 审核内容 | 处理办法 |", "|---|---|---|---|"]
        for r in c["rules"]:
            lines.append(f"| {r['code']} | {SEVERITY_TEXT[r['severity']]} | {r['message']} | {r.get('fix', '')} |")
    lines += ["", "## 跨期核对做什么、不做什么", ""] + [f"* {line}" for line in CROSS_PERIOD]
    return "\n".join(lines) + "\n"


CROSS_PERIOD = [
    "上期数据来自工作区台账中当前通过审核的报表（含 import-master 导入的汇总表）；`check --previous 文件` 可临时指定。"
    "每条跨期问题都写明对照的来源（报告期、版本、文件名）。",
    "季报的“上季度接转”对照上一季度附表5的在建数；第一季度和年报的“上年度接转”对照上年年底在建数"
    "（上年第四季度附表5，没有时取上年度附表7并给出 P03）。",
    "上期有各县（区）的数时逐行核对；只有本单位合计时（如按单位一行导入的汇总表）核对合计行；本期多出的行给出 P01；"
    "完全没有上期数据时给出 P00。",
    "年报与四个季度，逐项（项数、面积、造价各一条规则，问题标在不一致的那个单元格）：新注册、竣工为四季之和（T7-A1/A7/A8、"
    "T7-A3/A9/A10），质量备案项数、面积为四季之和（T7-A4/A11；附表7无备案造价），事故项数、死亡人数、经济损失为四季之和"
    "（T7-A5/A14/A15），年底在建等于第四季度在建（T7-A2/A12/A13），用户满意率与四季按备案项数加权的满意率相差不超过1个百分点"
    "（T7-A18），以上均为核实性（年报12月20日前报送，第四季度尚未结束）；上年度接转等于第一季度的接转（T7-A6/A16/A17，强制性）；"
    "季度不全时照样核对已有季度能核对的（上年度接转与第一季度；年报各项不小于已报季度之和 T7-B1…B11），其余给出 A00，所缺季度到后自动复核。",
    "年报模板下发时台账中已有四个季度的附表5，模板带上各季度数据（隐藏表），自查表当场核对 T7-A1…A18；否则由 check/intake 核对。"
    "模板预填并锁定接转时，自查表会核对接转（T5-P1…P3 / T7-P1…P3）。",
    "项目连续性只由 check/intake 核对（模板中没有上期项目清单），结果进入回执、审核结果和汇总表。",
]


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[2]
    if argv[:1] == ["templates"]:
        target = Path(argv[1]) if len(argv) > 1 else root / "templates_xlsx"
        for old in target.glob("*.xlsx"):
            old.unlink()
        paths = build_templates(target)
        print(f"wrote {len(paths)} templates to {target}")
        return 0
    if argv[:1] == ["samples"]:
        target = Path(argv[1]) if len(argv) > 1 else root / "samples"
        for old in target.glob("*/*.eml"):
            old.unlink()
        paths = build_samples(target)
        print(f"wrote {len(paths)} sample mails to {target}")
        return 0
    if argv[:1] == ["findings"]:
        target = root / "docs" / "findings.md"
        target.parent.mkdir(exist_ok=True)
        target.write_text(findings_page(), encoding="utf-8")
        print(f"wrote {target}")
        return 0
    if argv[:1] == ["report-template"]:
        from qtables.report.template import TEMPLATE, build_default

        print(f"wrote {build_default(Path(argv[1]) if len(argv) > 1 else TEMPLATE)}")
        return 0
    if argv[:1] == ["spec"]:
        from qtables.devtools.specpage import spec_page
        from qtables.spec import load_spec

        target = root / "docs" / "spec.md"
        target.parent.mkdir(exist_ok=True)
        target.write_text(spec_page(load_spec()), encoding="utf-8")
        print(f"wrote {target}")
        return 0
    if argv[:1] == ["pages"]:
        from qtables.devtools.pages import main as pages

        return pages(argv[1:])
    print("usage: python -m qtables.devtools templates [DIR] | samples [DIR] | findings | spec | pages FILE...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
