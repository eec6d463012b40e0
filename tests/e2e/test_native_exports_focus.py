"""Provider-native exports that aispend converts itself (Azure EA, OCI cost reports through
`connectors/focus_mappings`), loaded the way a user loads them (`aispend run --config`), must come
out as FOCUS 1.2 that the FinOps Foundation's validator accepts: these lines are ours, so
`aispend focus-check --converted-only` checks them (only third-party FOCUS files pass through as
their provider wrote them).

Before: OCI lines had no billing period (BillingPeriodStart/End null on all 506), mandatory columns
were null on every converted line (ContractedCost, ListCost, PricingCurrency, ...) — 43 mandatory
rules failed — and `--converted-only` left both exports out (it checked 0 rows).
"""
from __future__ import annotations

import csv
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from aispend_cli import aispend

UTC = timezone.utc
OCI = "billing/oci/reports_cost-csv_0000000030000269.csv"
EA = "billing/azure-ea/sample-anonymous-ea-export-dataset.csv"


@pytest.fixture(scope="module")
def home(shared_data, tmp_path_factory):
    home = tmp_path_factory.mktemp("native_exports")
    cfg = home / "aispend.yaml"
    cfg.write_text(f"""start_date: "2023-09-01"
sources:
  - {{name: oci, type: focus_files, uri: {shared_data / OCI}, mapping: oci}}
  - {{name: azure, type: focus_files, uri: {shared_data / EA}, mapping: azure_ea}}
""")
    run = aispend("run", "--config", str(cfg), "--end", "2023-11-30", home=home)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return home


def _sql(home: Path, query: str):
    con = duckdb.connect(str(home / "warehouse" / "aispend.duckdb"), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(query).fetchall()
    finally:
        con.close()


def _native_total(path: Path, column: str) -> Decimal:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return sum(Decimal(r[column]).quantize(Decimal("1e-10")) for r in csv.DictReader(fh))


def test_converted_lines_have_their_billing_period_and_keep_their_totals(home, shared_data):
    rows = _sql(home, "select x_source, ProviderName, count(*), min(BillingPeriodStart), max(BillingPeriodEnd), "
                      "count(BillingPeriodStart), sum(BilledCost), min(BillingCurrency) from focus_costs "
                      "group by all order by 1")
    assert rows == [
        ("mapped:azure_ea", "Microsoft", 27, datetime(2023, 9, 1, tzinfo=UTC), datetime(2023, 10, 1, tzinfo=UTC), 27,
         _native_total(shared_data / EA, "CostInBillingCurrency"), "CAD"),
        ("mapped:oci", "Oracle", 506, datetime(2023, 11, 1, tzinfo=UTC), datetime(2023, 12, 1, tzinfo=UTC), 506,
         _native_total(shared_data / OCI, "cost/myCost"), "USD"),
    ]
    # mandatory FOCUS columns the native exports do not carry are completed, not left null
    assert _sql(home, "select count(*) from focus_costs where ListCost is null or ContractedCost is null "
                      "or PricingCurrency is null or PricingCurrencyEffectiveCost is null "
                      "or BillingAccountName is null or PublisherName is null "
                      "or (RegionId is not null and RegionName is null) "
                      "or (ResourceId is not null and ResourceType is null)") == [(0,)]
    # contracted cost = the EA contract unit price × quantity; list = pay-as-you-go price × quantity
    assert _sql(home, "select ContractedCost, ListCost from focus_costs where SkuId = 'ABC-1234'") == [
        (Decimal("0.0027265128"), Decimal("0.0109060512"))]


def test_focus_check_converted_only_checks_them_and_they_pass(home):
    from pipelines import focus_check

    try:
        focus_check.ensure_validator()
    except focus_check.ValidatorUnavailable as e:
        pytest.skip(f"FOCUS validator unavailable: {e}")
    res = aispend("focus-check", "--home", str(home), "--converted-only", home=home)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "FOCUS 1.2 validator on 533 rows" in res.stdout
    assert "mandatory rules failed: 0" in res.stdout
