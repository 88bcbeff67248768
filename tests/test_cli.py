"""The command line: exact outputs and exit codes, Chinese messages, no tracebacks."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from qtables.cli import main
from qtables.spec.loader import default_spec_dir


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def ws(tmp_path, runner):
    result = runner.invoke(main, ["init", str(tmp_path / "工作区")])
    assert result.exit_code == 0, result.output
    return tmp_path / "工作区"


def test_init_creates_a_workspace_with_config_registry_and_key(ws):
    text = (ws / "qtables.toml").read_text(encoding="utf-8")
    assert 'root_unit = "410000"' in text and "signing_key" in text
    assert (ws / "units.json").exists() and (ws / "archive").is_dir()


def test_issue_writes_a_workbook_for_each_of_the_28_units(ws, tmp_path, runner):
    # The annual set (附表6–7): every unit by default, as for a quarter, at a fraction of the quarter's writing time.
    out = tmp_path / "out"
    result = runner.invoke(main, ["issue", "--workspace", str(ws), "--period", "2025", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "已生成 28 个模板" in result.output
    assert len(list(out.glob("*.xlsx"))) == 28
    assert not list(out.glob(".qtables-*"))  # no temporary leftovers


def test_issue_annual_for_two_units_with_scoring(ws, tmp_path, runner):
    out = tmp_path / "annual"
    result = runner.invoke(main, ["issue", "--workspace", str(ws), "--period", "2025", "--out", str(out),
                                  "--unit", "410100", "--unit", "411729", "--scoring"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.glob("*.xlsx")) == ["2025_410100_郑州市_考核评分表.xlsx", "2025_411729_新蔡县_考核评分表.xlsx"]
    assert "带班制度" in result.output


@pytest.mark.parametrize(
    "args, code, text",
    [
        (["--period", "2025Q5"], "U002", "报告期 “2025Q5” 无法识别"),
        (["--period", "二〇二五"], "U002", "无法识别"),
        (["--period", "1999"], "U002", "年份超出"),
        (["--period", "2025Q3", "--unit", "999999"], "U003", "单位代码 999999 不在单位名录中"),
        (["--period", "2025Q3", "--scoring"], "U005", "考核评分表按年度考核"),
    ],
)
def test_bad_requests_exit_2_with_a_coded_chinese_message(ws, tmp_path, runner, args, code, text):
    out = tmp_path / "never"
    result = runner.invoke(main, ["issue", "--workspace", str(ws), "--out", str(out), *args])
    assert result.exit_code == 2
    assert f"错误 [{code}]" in result.output and text in result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not list(out.glob("*.xlsx"))


def test_missing_workspace_is_explained(tmp_path, runner):
    result = runner.invoke(main, ["issue", "--workspace", str(tmp_path / "nowhere"), "--period", "2025Q3", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "错误 [W001]" in result.output and "qtables init" in result.output


def test_malformed_spec_file_exits_2_naming_the_pointer(ws, tmp_path, runner):
    spec_dir = tmp_path / "schemas"
    shutil.copytree(default_spec_dir(), spec_dir)
    path = spec_dir / "tables" / "t5.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["rules"][0]["assert"] = "satisfaction_rate >= "
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(main, ["issue", "--workspace", str(ws), "--period", "2025Q3", "--out", str(tmp_path / "o"), "--spec", str(spec_dir)])
    assert result.exit_code == 2
    assert "错误 [S002] 规格文件有误" in result.output and "t5.json#/rules/0/assert" in result.output


def test_every_command_has_help_with_an_example(runner):
    for name, command in main.commands.items():
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, name
        assert "示例" in result.output or "qtables " + name in result.output, name
        assert command.help and any("\u4e00" <= ch <= "\u9fff" for ch in command.help), name


def test_usage_errors_and_help_are_chinese_with_codes(tmp_path):
    runner = CliRunner()
    cases = [
        (["status"], "U020", "缺少选项"),
        (["frobnicate"], "U023", "没有命令"),
        (["check", str(tmp_path / "nothere.xlsx")], "U022", "不存在"),
        (["issue", "--bogus"], "U021", "没有选项"),
    ]
    for args, code, words in cases:
        result = runner.invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        assert f"错误 [{code}]" in result.output and words in result.output, result.output
        assert "Usage" not in result.output and "Error" not in result.output and "Traceback" not in result.output
    assert not list(tmp_path.glob("**/*审核回执*"))  # a missing file gets no receipt
    shown = runner.invoke(main, ["issue", "--help"])
    assert shown.exit_code == 0 and "用法：" in shown.output and "显示本说明并退出" in shown.output and "[必填]" in shown.output
    assert "示例" in runner.invoke(main, ["check", "--help"]).output


def test_init_validates_first_and_never_changes_an_existing_workspace(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(main, ["init", str(tmp_path / "bad"), "--unit", "123456"])
    assert bad.exit_code == 2 and "U003" in bad.output and not (tmp_path / "bad").exists()
    assert runner.invoke(main, ["init", str(tmp_path / "ws")]).exit_code == 0
    again = runner.invoke(main, ["init", str(tmp_path / "ws"), "--unit", "410100"])
    assert again.exit_code == 2 and "W004" in again.output
    assert 'root_unit = "410000"' in (tmp_path / "ws" / "qtables.toml").read_text(encoding="utf-8")


def test_merge_with_nothing_accepted_refuses_and_an_unfilled_template_is_not_accepted(tmp_path, quarter_templates, workspace):
    runner = CliRunner()
    ws = tmp_path / "ws"
    runner.invoke(main, ["init", str(ws)])
    empty = runner.invoke(main, ["merge", "--workspace", str(ws), "--period", "2025Q3"])
    assert empty.exit_code == 2 and "U019" in empty.output and not list((ws / "masters").glob("*.xlsx"))
    blank = runner.invoke(main, ["check", "--workspace", str(workspace.path), str(quarter_templates[0].path), "--no-receipts"])
    assert blank.exit_code == 1 and "N00" in blank.output and "通过" not in blank.output.splitlines()[0]


def test_status_table_lines_up_by_display_width():
    from qtables.status import display_width, render

    units = [{"code": c, "name": n, "status": "accepted", "version": 1, "received_at": "2025-09-30T09:00:00+08:00",
              "first_received": "2025-09-30T01:00:00+00:00", "accepted_at": "2025-09-30T09:00:00+08:00", "timing": "按时",
              "on_time": True, "errors": 0, "warnings": 0, "attachments": [], "unreadable": [], "notes": [], "imported": False}
             for c, n in (("410100", "郑州市"), ("410400", "平顶山市"), ("410526", "滑县"))]
    text = render({"label": "2025年第3季度", "deadline": "2025-09-30", "expected": 3, "received": 3, "accepted": 3, "late": 0,
                   "units": units, "chase": []})
    rows = text.splitlines()[3:7]
    starts = {display_width(r[: r.index("2025-09-30 09:00")]) for r in rows[1:]}  # +0000 shown in 北京时间
    assert display_width("平顶山市") == 8 and len(starts) == 1
    assert display_width(rows[0][: rows[0].index("首次报送")]) == starts.pop()
