"""The headline answers `aispend demo` prints, read from the published warehouse (SQL in sql/headlines)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines import warehouse

HEADLINES = Path(__file__).with_name("sql") / "headlines"
TITLES = {
    "1_spend_by_source_month": "AI spend by source and month (USD)",
    "2_cost_per_query": "Cost per query by application (USD)",
    "3_agent_loops": "Agent tasks that amplify spend most",
    "4_repatriation": "Repatriation candidates",
    "5_anomalies": "Last week's cost anomalies",
}


def _table(cols: list[str], rows: list[tuple], max_width: int = 60) -> str:
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
            parts.append(f"\n== {TITLES.get(f.stem, f.stem)} ==\n{_table(cols, cur.fetchall())}")
    finally:
        con.close()
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
