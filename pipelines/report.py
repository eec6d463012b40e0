"""The headline answers `aispend demo` prints, read from the published warehouse (SQL in sql/headlines)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines import warehouse
from pipelines.alerts import week_digest

HEADLINES = Path(__file__).with_name("sql") / "headlines"
TITLES = {
    "1_spend_by_source_month": "AI spend by source and month (USD)",
    "2_cost_per_query": "Cost per query by application (USD, busy-only: marginal cost; idle GPU time apart)",
    "2b_top_queries": "Most expensive queries (USD, by busy-only cost)",
    "2c_cost_coverage": "Traced cost coverage: what cost per query sees of the bill",
    "2d_gpu_cost_allocation": "Owned GPU cost: allocated vs unallocated idle (USD)",
    "3_agent_loops": "Agent loops per agent: normal (p50 / p95) and the runaway bars",
    "3b_runaway_tasks": "Runaway agent tasks (calibrated per agent), costliest first",
    "4_repatriation": "Repatriation candidates",
}
ANOMALY_COLUMNS = ["day", "dimension", "dimension_value", "actual_usd", "expected_usd", "impact_usd", "impact_pct",
                   "score", "root_causes"]


def text_table(cols: list[str], rows: list[tuple], max_width: int = 60) -> str:
    cells = [[("" if v is None else str(v))[:max_width] for v in r] for r in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(out) if rows else line + "\n(none)"


def headlines(home: Path) -> str:
    con = duckdb.connect(str(warehouse.published_path(home)), read_only=True)
    parts = []
    try:
        for f in sorted(HEADLINES.glob("*.sql")):
            cur = con.execute(f.read_text())
            cols = [d[0] for d in cur.description]
            parts.append(f"\n== {TITLES.get(f.stem, f.stem)} ==\n{text_table(cols, cur.fetchall())}")
    finally:
        con.close()
    # the same week and query the weekly digest sends, so the demo shows exactly what would be alerted
    d = week_digest(home, limit=8)
    rows = [(day, dim, val, round(actual, 2), round(expected, 2), round(impact, 2),
             f"{pct:.0%}" if pct is not None else None, round(score, 1), causes)
            for day, dim, val, actual, expected, impact, pct, score, causes in d.rows]
    week = (f"the week {d.week_start} to {d.week_end}, data through {d.data_through}" if d.week_end
            else "no cost data")
    body = text_table(ANOMALY_COLUMNS, rows) if rows else "Nothing unusual: no cost anomaly flagged that week."
    parts.append(f"\n== Cost anomalies of the last week of data ({week}) ==\n{body}")
    return "\n".join(parts)


def month_total(home: Path, x_source: str, period: str) -> float:
    """Billed cost of one billing period of one source kind (`x_source`, e.g. 'aws_cur') in focus_costs."""
    con = duckdb.connect(str(warehouse.published_path(home)), read_only=True)
    try:
        row = con.execute(
            "select coalesce(sum(BilledCost), 0) from main.focus_costs "
            "where x_source = ? and strftime(BillingPeriodStart, '%Y-%m') = ?", [x_source, period]).fetchone()
        return float(row[0])
    finally:
        con.close()
