"""The weekly cost-anomaly digest: read from the published warehouse, written to a file and stdout.

The digest covers one stated week: by default the 7 days ending at the newest day of cost data in
the warehouse (not at the newest anomaly: a quiet week says so instead of re-sending an old
anomaly), or the week ending at `week_ending`. It states that week, how fresh each kind of spend
is (and warns when the data is older than DIGEST_STALE_AFTER_DAYS), and says "nothing unusual"
when no anomaly was flagged in it. Slack / email / webhook delivery comes with the alerting issue;
the digest text is the contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb

from pipelines import warehouse

SQL_DIR = Path(__file__).with_name("sql")
# Billing data normally lags a day or two; beyond this the digest warns that it may miss spend.
DIGEST_STALE_AFTER_DAYS = 3
TITLE = "# aispend weekly cost anomalies"


def read_sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text()


@dataclass(frozen=True)
class Digest:
    """One week's anomalies and the facts that make them trustworthy (which week, how fresh)."""

    week_start: date | None
    week_end: date | None
    rows: list[tuple]
    data_through: date | None = None
    by_source_type: dict[str, date] = field(default_factory=dict)
    previous_anomaly_day: date | None = None


def week_digest(home: Path, week_ending: date | None = None, limit: int = 20) -> Digest:
    """The anomalies of the week ending at `week_ending` (default: the newest day of cost data)."""
    con = duckdb.connect(str(warehouse.published_path(home)), read_only=True)
    try:
        data_through = con.execute("select max(day) from main.fct_daily_spend").fetchone()[0]
        end = week_ending or data_through
        if end is None:  # an empty warehouse: no week to report on
            return Digest(None, None, [])
        start = end - timedelta(days=6)
        rows = con.execute(read_sql("anomaly_digest"), [start, end, limit]).fetchall()
        by_type, previous = con.execute(read_sql("anomaly_digest_freshness"), [start]).fetchone()
        return Digest(start, end, rows, data_through, {r["source_type"]: r["through"] for r in by_type or []},
                      previous)
    finally:
        con.close()


def header_lines(d: Digest, today: date) -> list[str]:
    """Which week, and how fresh the data behind it is (a warning when it is stale)."""
    if d.week_end is None:
        return ["No cost data in the warehouse yet: nothing to report."]
    lines = [f"Week {d.week_start} to {d.week_end}. Data through {d.data_through}"
             + (" (" + ", ".join(f"{k} {v}" for k, v in sorted(d.by_source_type.items())) + ")"
                if d.by_source_type else "") + f"; generated {today}."]
    lag = (today - d.data_through).days if d.data_through else None
    if lag is not None and lag > DIGEST_STALE_AFTER_DAYS:
        lines.append(f"WARNING: the newest cost data is {lag} days old ({d.data_through}); spend since then "
                     f"is not in this digest. Check that the scheduled runs are ingesting.")
    behind = [f"{k} through {v}" for k, v in sorted(d.by_source_type.items())
              if d.data_through and (d.data_through - v).days > DIGEST_STALE_AFTER_DAYS]
    if behind:
        lines.append("WARNING: some spend lags the rest: " + ", ".join(behind) + ".")
    return lines


def format_digest(d: Digest, today: date | None = None) -> str:
    today = today or datetime.now(timezone.utc).date()
    lines = [TITLE, "", *header_lines(d, today), ""]
    if d.week_end is not None and not d.rows:
        lines.append(f"Nothing unusual: no cost anomaly was flagged from {d.week_start} to {d.week_end}"
                     + (f" (the last one was on {d.previous_anomaly_day})." if d.previous_anomaly_day else "."))
        return "\n".join(lines) + "\n"
    if not d.rows:
        return "\n".join(lines) + "\n"
    lines += ["| day | dimension | value | actual $ | expected $ | impact $ | impact | score | root causes |",
              "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for day, dim, val, actual, expected, impact, pct, score, causes in d.rows:
        lines.append(f"| {day} | {dim} | {val} | {actual:,.2f} | {expected:,.2f} | {impact:,.2f} | "
                     f"{'' if pct is None else format(pct, '+.0%')} | {score:,.1f} | {causes or ''} |")
    return "\n".join(lines) + "\n"


def write_digest(home: Path, now: datetime | None = None, week_ending: date | None = None) -> tuple[Path, str]:
    now = now or datetime.now(timezone.utc)
    d = week_digest(home, week_ending)
    text = format_digest(d, now.date())
    out = home / "alerts" / f"anomaly-digest-{d.week_end or now.date()}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return out, text
