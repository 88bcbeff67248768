"""Realistic, internally consistent fillings of the 附表 for tests, benchmarks and samples.

Projects are generated first (each with a registration number, area, cost,
category, and whether it was carried over, newly registered, completed and
filed this period); every table is then derived from the same projects, so a
generated filling satisfies every rule — and a test can break exactly one.
Deterministic for a given seed.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from qtables.template.layout import TableLayout
from qtables.period import Period
from qtables.spec.registry import Unit

STRUCTURES = ["框架结构", "剪力墙结构", "框架-剪力墙结构", "砖混结构", "钢结构", "框架-核心筒结构"]
PROGRESS = ["基础施工", "主体施工", "主体完工", "装饰装修", "安装调试"]
BUILDERS = ["河南省第一建筑工程集团有限责任公司", "中建七局第二建筑有限公司", "河南五建建设集团有限公司", "郑州一建集团有限公司",
            "中国建筑第七工程局有限公司", "河南国基建设集团有限公司", "林州建总建筑工程有限公司", "河南省第二建设集团有限公司"]
SUPERVISORS = ["河南建达工程咨询有限公司", "河南省建设监理有限公司", "郑州中兴工程监理有限公司", "河南长城铁路工程建设咨询有限公司",
               "河南清鸿建设咨询有限公司"]
NAMES = ["安置房", "保障性住房", "住宅小区", "商业综合体", "中学教学楼", "人民医院门诊楼", "体育中心", "产业园厂房", "文化中心",
         "公租房", "幼儿园", "图书馆", "办公楼", "物流园仓储楼", "钢结构厂房"]


@dataclass
class Project:
    reg_no: str
    name: str
    row_key: str
    area: float  # ㎡
    cost: float  # 万元
    structure: str
    categories: set[str]
    carried: bool
    completed: bool = False
    filed: bool = False
    done_date: date | None = None
    filed_date: date | None = None

    @property
    def under_construction(self) -> bool:
        return not self.completed


@dataclass
class Filling:
    values: dict[str, list[dict[str, Any]]]
    line_values: dict[str, dict[str, Any]] = field(default_factory=dict)
    projects: list[Project] = field(default_factory=list)


def _wan(x: float) -> float:
    return round(x / 10000.0, 2)


def generate(layouts: list[TableLayout], unit: Unit, period: Period, *, seed: int = 0, projects_per_row: tuple[int, int] = (1, 4),
             previous: Filling | None = None) -> Filling:
    """A consistent filling; with ``previous``, its projects still under construction are carried over."""
    rng = random.Random(f"{seed}:{unit.code}:{period.code}")
    by_id = {lay.table.id: lay for lay in layouts}
    keyed = next((lay for lay in layouts if lay.table.kind == "keyed"), None)
    row_keys = [r.key for r in keyed.rows] if keyed else [unit.code]
    capacity = min((len(by_id[t].rows) for t in ("t3", "t4") if t in by_id), default=10_000)
    # Keep detail tables within their capacity.
    per_row_max = max(1, min(projects_per_row[1], capacity // max(1, len(row_keys)) // 2))
    per_row_min = min(projects_per_row[0], per_row_max)
    projects: list[Project] = []
    serial = 0
    if previous is not None:
        for old in previous.projects:
            if old.under_construction:
                projects.append(Project(old.reg_no, old.name, old.row_key, old.area, old.cost, old.structure, set(old.categories), True))
        serial = len(previous.projects) + 100 * period.quarter if period.quarter else len(previous.projects)
    for key in row_keys:
        fresh = rng.randint(0, 2) if previous is not None else rng.randint(per_row_min, per_row_max) + 1
        for _ in range(fresh):
            serial += 1
            area = float(rng.randint(30, 600) * 100)  # whole 100 ㎡, so 万㎡ sums are exact to 0.01
            cats = set()
            if rng.random() < 0.6:
                cats.add("residential")
                if rng.random() < 0.35:
                    cats.add("affordable")
            else:
                cats.add("public")
                if area >= 20000:
                    cats.add("large_public")
            structure = rng.choice(STRUCTURES)
            if structure == "钢结构":
                cats.add("steel")
            if key != unit.code:
                cats.add("county")
            projects.append(
                Project(
                    reg_no=f"{key}-{period.year}-{serial:04d}",
                    name=f"{rng.choice(['城南', '城北', '新区', '滨河', '高新区', '经开区'])}{rng.choice(NAMES)}{serial}号",
                    row_key=key,
                    area=area,
                    cost=round(area * rng.uniform(2500, 5500) / 10000.0, 2),
                    structure=structure,
                    categories=cats,
                    carried=previous is None and rng.random() < 0.6,
                )
            )
    start, end = period.start, period.end
    span = (end - start).days
    for p in projects:
        if rng.random() < 0.3:
            p.completed = True
            p.done_date = start + timedelta(days=rng.randint(0, span - 10))
            if rng.random() < 0.7:
                p.filed = True
                p.filed_date = p.done_date + timedelta(days=rng.randint(1, 9))
            else:  # not filed yet: completed within the last days of the period (within the 15 days allowed, T4-10)
                p.done_date = end - timedelta(days=rng.randint(0, 9))
    values: dict[str, list[dict[str, Any]]] = {}
    if keyed:
        values[keyed.table.id] = [_keyed_row([p for p in projects if p.row_key == k], rng) for k in row_keys]
    if "t3" in by_id:
        values["t3"] = [_t3_row(p, rng) for p in projects if p.under_construction]
    if "t4" in by_id:
        values["t4"] = [_t4_row(p) for p in projects if p.completed]
    if "t6" in by_id:
        values["t6"] = [_category_row([p for p in projects if r.key in p.categories]) for r in by_id["t6"].rows]
    if "t1" in by_id:
        values["t1"] = [_t1_row(i, unit, period, rng) for i in range(rng.randint(1, 4))]
    if "t2" in by_id:
        values["t2"] = [_t2_row(i, unit, period, rng) for i in range(rng.randint(1, 3))]
    line_values = {}
    for lay in layouts:
        items = lay.table.top_line[1:] + lay.table.bottom_line
        line_values[lay.table.id] = {
            item: (end if "日期" in item else rng.choice(["张伟", "王芳", "李娜", "刘洋", "陈静", "赵磊"])) for item in items
        }
    return Filling(values, line_values, projects)


def _measures(ps: list[Project]) -> tuple[int, float, float]:
    return len(ps), _wan(sum(p.area for p in ps)), round(sum(p.cost for p in ps), 2)


def _keyed_row(ps: list[Project], rng: random.Random) -> dict[str, Any]:
    carried = [p for p in ps if p.carried]
    new = [p for p in ps if not p.carried]
    done = [p for p in ps if p.completed]
    filed = [p for p in ps if p.filed]
    row: dict[str, Any] = {}
    for prefix, group in (("carried", carried), ("new", new), ("done", done), ("filed", filed)):
        row[f"{prefix}_count"], row[f"{prefix}_area"], row[f"{prefix}_cost"] = _measures(group)
    row["ucon_count"] = row["carried_count"] + row["new_count"] - row["done_count"]
    row["ucon_area"] = round(row["carried_area"] + row["new_area"] - row["done_area"], 2)
    row["ucon_cost"] = round(row["carried_cost"] + row["new_cost"] - row["done_cost"], 2)
    if filed:
        satisfied = max(0, len(filed) - rng.randint(0, 1))
        row["satisfaction_rate"] = round(satisfied / len(filed) * 100, 2)
    row["accident_count"] = 0
    row["accident_deaths"] = 0
    row["accident_loss"] = 0
    return row


def _category_row(ps: list[Project]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    groups = {
        "new": [p for p in ps if not p.carried],
        "done": [p for p in ps if p.completed],
        "filed": [p for p in ps if p.filed],
        "ucon": [p for p in ps if p.under_construction],
    }
    for prefix, group in groups.items():
        row[f"{prefix}_count"], row[f"{prefix}_area"], row[f"{prefix}_cost"] = _measures(group)
    return row


def _t3_row(p: Project, rng: random.Random) -> dict[str, Any]:
    # A project keeps its 施工单位 and 监理单位 from one period to the next (project continuity).
    return {
        "reg_no": p.reg_no, "name": p.name, "structure": p.structure, "area": p.area, "cost": p.cost,
        "builder": _builder(p), "supervisor": _supervisor(p), "progress": rng.choice(PROGRESS),
    }


def _builder(p: Project) -> str:
    # zlib.crc32, not hash(): str hashes change from one Python process to the next.
    return BUILDERS[zlib.crc32(p.reg_no.encode()) % len(BUILDERS)]


def _supervisor(p: Project) -> str:
    return SUPERVISORS[zlib.crc32(p.reg_no.encode()) % len(SUPERVISORS)]


def _t4_row(p: Project) -> dict[str, Any]:
    row = {
        "reg_no": p.reg_no, "name": p.name, "structure": p.structure, "area": p.area, "cost": p.cost,
        "builder": _builder(p), "supervisor": _supervisor(p),
        "done_date": p.done_date, "acceptance": "合格",
    }
    if p.filed:
        row["filed_date"] = p.filed_date
        row["filed_conclusion"] = "准予备案"
    return row


def _t1_row(i: int, unit: Unit, period: Period, rng: random.Random) -> dict[str, Any]:
    d = period.start + timedelta(days=rng.randint(0, 60))
    return {
        "record_no": f"BL{period.code}-{unit.code}-{i + 1:03d}", "project": f"{rng.choice(NAMES)}{i + 1}号楼",
        "unit": rng.choice(BUILDERS), "person_name": rng.choice(["王强", "李军", "张磊"]), "person_title": "项目经理",
        "fact": "未按规定进行隐蔽工程验收即进入下道工序施工", "clause": "第十二条第（三）项", "recorder": "刘洋",
        "record_date": d, "approver": "陈静", "approve_date": d + timedelta(days=rng.randint(1, 15)),
    }


def _t2_row(i: int, unit: Unit, period: Period, rng: random.Random) -> dict[str, Any]:
    return {
        "record_no": f"CF{period.code}-{unit.code}-{i + 1:03d}", "project": f"{rng.choice(NAMES)}{i + 1}号楼",
        "unit": rng.choice(BUILDERS), "date": period.start + timedelta(days=rng.randint(0, 80)),
        "fact": "使用不合格建筑材料", "basis": "《建设工程质量管理条例》第六十四条", "penalty": "罚款",
        "penalty_status": "已执行", "handling": "已整改",
    }
