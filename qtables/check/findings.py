"""The one catalogue of finding codes, and the Finding record every stage exchanges.

Codes are stable: tests, receipts, the ledger and other tools key on them.
Rule codes (``T5-05``, ``X-01``, ``V01`` …) come from the spec; the codes here
are about the file itself: reading (F), identity (I), structure (S), values
(N), derived cells (D) and explanations (C).  ``docs/findings.md`` is generated
from this module and the spec (``python -m qtables.devtools findings``).

Severity: ``F`` the file cannot be checked at all (exit 2); ``E`` 强制性, the
submission is rejected until fixed (exit 1); ``W`` 核实性, accepted once a 说明
is written; ``I`` 提示, nothing to do.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SEVERITY_TEXT = {"F": "无法审核", "E": "强制性", "W": "核实性", "I": "提示"}


@dataclass(frozen=True)
class FindingType:
    code: str
    severity: str
    title: str
    template: str  # str.format template over the finding's details
    fix: str


_TYPES = [
    # -- reading the file
    FindingType("F01", "F", "不是电子表格", "文件“{name}”不是电子表格（看起来是{kind}），无法审核", "请发送下发的 .xlsx 模板文件本身，不要发送截图、PDF 或压缩前的其他文件。"),
    FindingType("F02", "F", "文件已加密", "文件“{name}”设置了打开密码，无法读取", "请在 Excel/WPS 中取消“打开密码”（文件—信息—保护工作簿—用密码进行加密，清空密码）后重新发送。"),
    FindingType("F03", "F", "文件损坏", "文件“{name}”已损坏或不完整，无法读取（{detail}）", "请重新保存后再发送；如为邮件附件，请确认附件完整。"),
    FindingType("F04", "F", "空文件", "文件“{name}”是空文件", "请重新发送填写好的模板。"),
    FindingType("F06", "F", "旧格式或自制的附表", "文件“{name}”是{detail}的旧格式或自制表格（工作表“{found}”），不是本系统下发的模板，未计入报送",
                "请用下发的模板重新填写后报送（回复邮件附有贵单位本期的模板）；汇总单位确认后也可用 import-master --unit 导入。"),
    FindingType("F05", "F", "不是 qtables 模板", "文件“{name}”是电子表格，但不是本系统下发的附表模板（没有模板标识）", "请使用省厅下发的模板填写；不要把内容复制到新建的工作簿中。"),
    FindingType("F07", "F", "Excel 二进制工作簿", "文件“{name}”是 Excel 二进制工作簿（.xlsb），本系统不读取这种格式",
                "请在 Excel 中用“文件—另存为”，保存类型选“Excel 工作簿（*.xlsx）”，再发送。"),
    # -- what arrived (intake)
    FindingType("L00", "F", "找不到文件", "{detail}", "请检查路径。"),
    FindingType("L01", "F", "附件过大", "“{name}”：{detail}", "请只发送填写好的模板；如确需发送大文件，请联系汇总单位调整限制。"),
    FindingType("L02", "F", "压缩包文件过多", "“{name}”：{detail}", "请直接发送模板文件，不要打包大量文件。"),
    FindingType("L03", "F", "解压后过大", "“{name}”：{detail}", "请直接发送模板文件。"),
    FindingType("L04", "F", "压缩比异常", "“{name}”：{detail}（疑似压缩炸弹）", "请直接发送模板文件。"),
    FindingType("L05", "F", "嵌套过深", "“{name}”：{detail}", "请不要层层转发或多层打包，直接发送模板文件。"),
    FindingType("L06", "F", "邮件过多", "{detail}，其余邮件下次处理", "再次运行 intake 即可继续。"),
    FindingType("L07", "F", "压缩包损坏", "“{name}”：{detail}", "请重新打包或直接发送模板文件。"),
    FindingType("L09", "F", "邮件结构损坏", "{detail}", "请重新发送邮件，附件直接添加，不要转发多层。"),
    FindingType("L08", "F", "工作表过大", "“{name}”：{detail}", "请使用下发的模板，不要在表格以外的远处单元格填写内容。"),
    FindingType("X01", "F", "文件含有 XML 实体声明", "“{name}”的部件 {detail} 含有 DOCTYPE/ENTITY 声明，出于安全原因不予读取",
                "请用 Excel 或 WPS 重新保存后发送。"),
    FindingType("X02", "F", "文件结构异常", "“{name}”的部件 {detail} 结构异常，无法确认其大小，出于安全原因不予读取",
                "请用 Excel 或 WPS 重新保存后发送。"),
    FindingType("M01", "W", "文件含有宏", "文件含有宏（VBA），宏已被忽略、不会运行", "请另存为 .xlsx 格式（不含宏）后报送。"),
    FindingType("Q01", "E", "发件人不在名单", "发件人 {found} 不在{expected}的报送邮箱名单中，已隔离待核", "请用本单位登记的邮箱报送，或联系汇总单位登记新邮箱。"),
    FindingType("A01", "I", "其他附件已归档", "附件“{name}”（{kind}）已归档，计入报送材料，不作数据审核", "无需处理。"),
    # -- identity
    FindingType("I01", "E", "模板签名无效", "模板标识与签名不符，模板可能被伪造或篡改", "请使用下发的原始模板重新填写。"),
    FindingType("I02", "E", "其他单位的模板", "这是{found}的模板，但报送单位是{expected}", "请使用本单位的模板。"),
    FindingType("I03", "E", "其他报告期的模板", "这是{found}的模板，本次应报送{expected}", "请使用本报告期下发的模板。"),
    FindingType("I04", "W", "规格版本较旧", "模板按规格版本 {found} 生成，当前为 {expected}", "如审核结果有异常，请改用新下发的模板。"),
    FindingType("I05", "E", "模板标识不一致", "文档属性与隐藏标识表中的模板标识不一致（{detail}）", "请使用下发的原始模板重新填写。"),
    FindingType("I06", "E", "单位不在名录中", "模板中的单位代码 {found} 不在单位名录中", "请联系汇总单位核对单位名录。"),
    # -- structure
    FindingType("S01", "E", "缺少工作表", "缺少工作表“{expected}”（可能被删除或重命名）", "请使用下发的原始模板，不要删除或重命名工作表。"),
    FindingType("S02", "W", "多出工作表", "多出工作表“{found}”，汇总时将忽略", "如无必要，请删除多出的工作表。"),
    FindingType("S03", "E", "表头被修改", "表头“{expected}”被改成了“{found}”", "请使用下发的原始模板，不要修改表头。"),
    FindingType("S04", "E", "行标签被修改", "第 {row} 行应为“{expected}”，实为“{found}”", "请不要修改单位、分类等行标签，也不要调整行的顺序。"),
    FindingType("S05", "E", "插入或删除了行列", "表格结构与模板不符：{detail}", "请使用下发的原始模板，不要插入或删除行、列。"),
    # -- values
    FindingType("N00", "E", "未填报", "模板的各附表都没有填写任何数据（这是下发的空白模板）", "请在浅黄色单元格中填写本期数据后报送；没有发生的填 0。"),
    FindingType("N01", "E", "无法识别的数值", "“{found}”不是可识别的数值", "请填写阿拉伯数字，例如 12 或 3.5；没有的填 0。"),
    FindingType("N02", "E", "无法识别的日期", "“{found}”不是可识别的日期", "请填写日期，例如 2025-09-30。"),
    FindingType("N04", "I", "签署栏未填写", "表下的{detail}未填写", "请填写统计员（填表人）、批准人和报送日期后报送；盖章扫描件上应有签名。"),
    FindingType("N03", "I", "按规范读取", "“{found}”已按 {expected} 读取", "请直接填写数字（不要带单位、千分位或全角字符）。"),
    # -- other periods (接转, annual vs quarters, project continuity)
    FindingType("P00", "I", "未核对接转", "{detail}，本表的“接转＝上期在建”未核对", "如上期数据不在本系统，可用 qtables import-master 导入上期汇总表后重新审核。"),
    FindingType("P01", "W", "上期没有该行", "“{name}”上期没有数据（对照：{source}），该行的接转未核对", "如为新设或调整的区县，请在报送邮件中说明。"),
    FindingType("P03", "I", "上期数据取自其他表", "{detail}（{source}）", "无需处理；收到上期正式报表后会以其为准。"),
    FindingType("P05", "I", "未核对附表6连续性", "{detail} 中没有附表6，各分类在建＝上期在建＋新注册－竣工（T6-P1…P3）未核对",
                "无需处理；上期附表6通过审核后会自动复核。"),
    FindingType("P04", "I", "未核对项目连续性", "{detail}，附表3/附表4的项目连续性未核对", "无需处理；上期明细报表通过审核后即可核对。"),
    # -- 催报 (qtables remind): what a unit still owes for a period
    FindingType("H01", "I", "未报送", "{detail}", "请用本期模板填写附表，“自查”表全部为 ✓ 后报送。"),
    FindingType("H02", "I", "退回未改正", "{detail}", "请按审核回执改正后，用同一模板重新报送。"),
    FindingType("H03", "I", "核实性问题待说明", "{detail}", "请在模板“自查”表对应行的“说明”栏写明原因后重新报送。"),
    FindingType("H04", "I", "分析报告未收到", "{detail}", "请将本期《工程质量分析报告》（Word 文档）作为附件报送。"),
    FindingType("H05", "I", "无邮箱，请电话催报", "{detail}", "汇总单位请电话催报，并在 qtables.toml 的 [senders] 登记该单位的报送邮箱。"),
    FindingType("H06", "I", "催报邮件未发出", "{detail}", "检查 [smtp] 设置与邮件服务器；下次运行 remind 会重发。"),
    FindingType("R01", "I", "因所依据的数据变化而复核", "本报表已重新审核：{detail}", "审核结果以本回执为准；有强制性问题的请改正后重新报送。"),
    FindingType("A00", "I", "未核对年报与季报", "缺少{detail}的附表5，年报与四个季度的一致性未能全部核对（{checked}）",
                "所缺季度的附表5通过审核后，年报会自动复核。"),
    # -- derived cells
    FindingType("D01", "E", "计算单元格的值不对", "此单元格应由公式计算为 {expected}，文件中为 {found}", "请不要改动合计、比率等自动计算的单元格；使用原始模板重新填写。"),
    # -- explanations (说明)
    FindingType("C01", "W", "说明过于笼统", "规则 {rule} 的说明“{found}”过于笼统，不能作为核实说明", "请写明具体原因，例如“3项工程因规划调整撤销监督注册”。"),
]

CATALOGUE: dict[str, FindingType] = {t.code: t for t in _TYPES}


@dataclass
class Finding:
    code: str
    severity: str
    message: str
    table: str = ""
    sheet: str = ""
    cell: str = ""
    expected: Any = None
    found: Any = None
    note: str = ""  # the submitter's 说明, when one was written
    explained: bool = False
    source: str = ""  # for findings that compare with another period: where those figures came from
    details: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def severity_text(self) -> str:
        return SEVERITY_TEXT[self.severity]

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("details")
        return data


def make(code: str, *, table: str = "", sheet: str = "", cell: str = "", expected: Any = None, found: Any = None, **details: Any) -> Finding:
    """A finding of a catalogue code, its message filled from the details."""
    kind = CATALOGUE[code]
    values = {"expected": _show(expected), "found": _show(found), "name": "", "kind": "", "detail": "", "row": "", "rule": "", "checked": ""}
    values.update({k: _show(v) for k, v in details.items()})
    return Finding(
        code=code,
        severity=kind.severity,
        message=kind.template.format(**values),
        table=table,
        sheet=sheet,
        cell=cell,
        expected=expected,
        found=found,
        details=details,
    )


def _show(value: Any) -> str:
    if value is None:
        return "（空）"
    if isinstance(value, float):
        return f"{value:.6g}" if not value.is_integer() else str(int(value))
    return str(value)


def grouped(findings: list[Finding]) -> list[tuple[Finding, list[Finding]]]:
    """One problem per cell: the most severe finding at a cell leads and the others there are listed as its
    consequences (one figure typed wrong breaks several rules: one thing to fix, not five), worst first."""
    rank = {"F": 0, "E": 1, "W": 2, "I": 3}
    out: list[tuple[Finding, list[Finding]]] = []
    at: dict[tuple[str, str], tuple[Finding, list[Finding]]] = {}
    for f in sorted(findings, key=lambda f: (f.code != "R01", rank.get(f.severity, 9))):  # a re-check says so first
        key = (f.sheet, f.cell) if f.sheet and f.cell and f.severity in ("E", "W") else None
        if key is not None and key in at:
            at[key][1].append(f)
            continue
        entry: tuple[Finding, list[Finding]] = (f, [])
        out.append(entry)
        if key is not None:
            at[key] = entry
    return out


def fix_for(f: Finding) -> str:
    """What the submitter should do about a finding (处理办法): the catalogue's, else by its severity."""
    if f.code in CATALOGUE and CATALOGUE[f.code].fix:
        return CATALOGUE[f.code].fix
    if f.severity == "E":
        return "请按提示改正后重新报送。"
    if f.severity == "W":
        return "已说明。" if f.explained else "如数据无误，请在“自查”表的“说明”栏写明具体原因；有误的请改正后重新报送。"
    return ""


def figures_text(f: Finding) -> str:
    """应为 0～100，实为 120 — the figures of a finding as the receipt's 应为/实为 columns show them, for a mail; those
    its message already states (D01: 应由公式计算为 …) are not said twice."""
    parts = []
    for label, value in (("应为", f.expected), ("实为", f.found)):
        shown = shown_figure(value)
        if shown and shown not in f.message:
            parts.append(f"{label} {shown}")
    return "，".join(parts)


def figure(value: Any) -> Any:
    """A figure as the sheets show it: whole numbers whole, others to the 2 decimals every 面积/造价/率 column has
    (NaN and out-of-range floats, and anything else, as they are)."""
    if isinstance(value, float) and value == value and abs(value) < 1e15:
        return int(value) if value.is_integer() else round(value, 2)
    return value


def shown_figure(value: Any) -> str:
    """An 应为/实为 figure as text (a mail, the office page), "" for none."""
    return "" if value is None else str(figure(value))


def consequences_text(follow: list[Finding]) -> str:
    return "同一单元格还因此不符合：" + "；".join(f"[{f.code}] {f.message}" for f in follow) if follow else ""

