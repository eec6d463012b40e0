"""The weekly digest, as a user gets it: a FOCUS export loaded with `aispend run`, then `aispend alert`.

Sixty days of a steady service (team a $60/day, team b $40/day) with one spike on 2026-08-31 (team a
$960), then four quiet weeks. Before, the digest anchored "last week" on the newest *anomaly*, so a
quiet week re-sent the month-old spike as last week's; and its root causes (each value's increase
over its own trailing mean) added up to more than the impact they explained.
"""
from __future__ import annotations

import csv
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from aispend_cli import aispend

FIRST, SPIKE, LAST = date(2026, 8, 1), date(2026, 8, 31), date(2026, 9, 29)


def _export(path: Path) -> None:
    cols = ["BillingAccountId", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart",
            "ChargePeriodEnd", "ChargeCategory", "ChargeFrequency", "BilledCost", "EffectiveCost", "ProviderName",
            "ServiceName", "ServiceCategory", "Tags"]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        day = FIRST
        while day <= LAST:
            month = day.replace(day=1)
            nxt = (month + timedelta(days=32)).replace(day=1)
            for team, cost in (("a", 960 if day == SPIKE else 60), ("b", 40)):
                w.writerow(["acct-1", "USD", f"{month}T00:00:00Z", f"{nxt}T00:00:00Z", f"{day}T00:00:00Z",
                            f"{day + timedelta(days=1)}T00:00:00Z", "Usage", "Usage-Based", cost, cost, "Oracle",
                            "Compute Instances", "Compute", f'{{"team": "{team}"}}'])
            day += timedelta(days=1)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("digest_week")
    _export(home / "focus.csv")
    (home / "aispend.yaml").write_text(f'start_date: "{FIRST}"\nsources:\n'
                                       f"  - {{name: oci, type: focus_files, uri: {home / 'focus.csv'}}}\n")
    run = aispend("run", "--config", str(home / "aispend.yaml"), "--end", str(LAST), home=home)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return home


def _sql(home: Path, query: str):
    con = duckdb.connect(str(home / "warehouse" / "aispend.duckdb"), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def test_the_spike_is_flagged_once_with_causes_that_add_up_to_its_impact(home):
    rows = _sql(home, "select day, dimension, dimension_value, impact_usd, root_causes from fct_cost_anomalies "
                      "order by dimension")
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (SPIKE, "service", "Compute Instances"), (SPIKE, "team", "a"), (SPIKE, "team_service", "a / Compute Instances")]
    for _, _, _, impact, causes in rows:
        listed = [Decimal(sign + amount) for sign, amount in re.findall(r" ([+-])\$([0-9.]+)", causes)]
        assert sum(listed) == round(impact, 2), causes  # the causes explain exactly the impact
    # the service's impact is all team a's: team b cost what it always costs
    service = next(r for r in rows if r[1] == "service")
    assert service[4].startswith("team a +$") and "team b" not in service[4]
    contributions = _sql(home, "select sub_value, contribution_usd from fct_cost_anomaly_causes "
                               "where dimension = 'service' order by cause_rank")
    assert [c[0] for c in contributions] == ["a", "b"]
    assert sum(c[1] for c in contributions) == service[3] and contributions[1][1] == 0


def test_a_quiet_week_is_reported_as_quiet_with_its_week_and_freshness(home):
    res = aispend("alert", "--home", str(home), home=home)
    assert res.returncode == 0, res.stderr
    week = f"Week {LAST - timedelta(days=6)} to {LAST}. Data through {LAST} (cloud_bill {LAST});"
    assert week in res.stdout
    assert (f"Nothing unusual: no cost anomaly was flagged from {LAST - timedelta(days=6)} to {LAST} "
            f"(the last one was on {SPIKE}).") in res.stdout
    assert str(SPIKE) + " |" not in res.stdout  # the month-old spike is not re-sent
    assert (home / "alerts" / f"anomaly-digest-{LAST}.md").read_text() in res.stdout


def test_the_week_of_the_spike_reports_it(home):
    res = aispend("alert", "--home", str(home), "--week-ending", "2026-09-03", home=home)
    assert res.returncode == 0, res.stderr
    assert "Week 2026-08-28 to 2026-09-03." in res.stdout
    assert f"| {SPIKE} | service | Compute Instances |" in res.stdout
    bad = aispend("alert", "--home", str(home), "--week-ending", "2026-09-3x", home=home)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "aispend alert: error: --week-ending: '2026-09-3x' is not a date written YYYY-MM-DD"
