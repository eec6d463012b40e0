"""The weekly cost-anomaly digest: read from the published warehouse, written to a file and stdout.

(Slack / email / webhook delivery comes with the alerting issue; the digest text is the contract.)
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import duckdb

from pipelines import warehouse

SQL_DIR = Path(__file__).with_name("sql")


def read_sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text()


def last_week_anomalies(home: Path, limit: int = 20) -> list[tuple]:
    con = duckdb.connect(str(warehouse.published_path(home)), read_only=True)
    try:
        return con.execute(read_sql("anomaly_digest"), [limit]).fetchall()
    finally:
        con.close()


def format_digest(rows: list[tuple]) -> str:
    if not rows:
        return "# aispend weekly cost anomalies\n\nNo anomalies flagged last week.\n"
    lines = ["# aispend weekly cost anomalies", "",
             "| day | dimension | value | actual $ | expected $ | impact $ | impact | score | root causes |",
             "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for day, dim, val, actual, expected, impact, pct, score, causes in rows:
        lines.append(f"| {day} | {dim} | {val} | {actual:,.2f} | {expected:,.2f} | {impact:,.2f} | "
                     f"{'' if pct is None else format(pct, '+.0%')} | {score:,.1f} | {causes or ''} |")
    return "\n".join(lines) + "\n"


def write_digest(home: Path, now: datetime | None = None) -> tuple[Path, str]:
    text = format_digest(last_week_anomalies(home))
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d")
    out = home / "alerts" / f"anomaly-digest-{stamp}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return out, text
