"""The statistics as CSV for a spreadsheet: one header row of bilingual column names, RFC 4180
quoting (the csv module: CRLF line ends, a field with a comma, quote or line break quoted
and its quotes doubled), a UTF-8 byte order mark so that Excel shows the Chinese, and no
formulas: a text cell that a spreadsheet would run (starting with = + - @, a tab or a
carriage return) is prefixed with an apostrophe. Office codes, matters and API key names
come from the database, so they are treated as hostile."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from records.matters import MATTERS

from .statistics import MonthRow

BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

STATISTICS_HEADER = [
    "office 公证处", "matter 事项", "matter name 事项名称", "month 月份",
    "issued 出证", "corrected 更正", "revoked 撤销", "fee exempt 免费", "policy refusals 不予办理",
    "anchored 已上链", "pending anchors 待上链", "anchor delay avg (s) 平均上链时间（秒）",
    "anchor delay max (s) 最长上链时间（秒）", "verifications 核验次数",
]
VERIFICATIONS_HEADER = ["registry or court 登记机构或法院", "verifications 核验次数"]


def safe_text(value: str) -> str:
    """``value`` as a spreadsheet shows it and never runs it."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.1f}"
    return safe_text(str(value))


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, dialect="excel", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows([_cell(v) for v in r] for r in rows)
    return BOM + out.getvalue()


def _matter_name(key: str) -> str:
    matter = MATTERS.get(key)
    return matter.title_zh if matter is not None else ""


def statistics_csv(rows: Iterable[MonthRow]) -> str:
    """The rows of console.statistics.monthly_statistics as CSV text (encode it as UTF-8;
    it starts with the byte order mark). Delays in seconds with one decimal, empty when
    nothing was anchored."""
    return _table(STATISTICS_HEADER, (
        [r.office_code, r.matter, _matter_name(r.matter), r.month, r.issued, r.corrected, r.revoked, r.fee_exempt,
         r.policy_refusals, r.anchored, r.pending_anchors, r.anchor_delay_avg_s, r.anchor_delay_max_s,
         r.verifications]
        for r in rows))


def verifications_csv(counts: Iterable[tuple[str, int]]) -> str:
    """console.statistics.verifications_by_key as CSV text, like statistics_csv."""
    return _table(VERIFICATIONS_HEADER, ([name, n] for name, n in counts))
