"""Real FOCUS data loaded by `aispend run` (conftest.real_run) into focus_costs of the published
warehouse: the official FOCUS 1.0 sample (per-provider totals against an independent csv + Decimal
reading) and the FOCUS 1.2 spec's commitment-discount examples (Σ EffectiveCost of usage per
commitment = Σ BilledCost of its purchase). The spec examples carry no BillingCurrency: the
source option `billing_currency: USD` names it; without the option the ingest fails naming the
file and the column, and the previous warehouse stays.
"""
from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from aispend_cli import aispend
from real_data import FOCUS_FLEX, FOCUS_SAMPLE, REAL_END, REAL_START

SAMPLE, FLEX = FOCUS_SAMPLE, FOCUS_FLEX


@pytest.fixture(scope="module")
def built(real_run):
    con = real_run.connect()
    yield con, real_run
    con.close()


def test_official_sample_totals_per_provider(built, shared_data):
    con, _ = built
    # The mart's money is DECIMAL(38,10); the sample writes 11 decimals, so each value is rounded
    # (half away from zero) to 1e-10 on the way in: the exact sum differs by < 1000 × 0.5e-10.
    expected: dict[str, Decimal] = defaultdict(Decimal)
    exact: dict[str, Decimal] = defaultdict(Decimal)
    ids = set()
    with (shared_data / SAMPLE).open(encoding="utf-8-sig", newline="") as fh:
        for r in csv.DictReader(fh):
            expected[r["ProviderName"]] += Decimal(r["BilledCost"]).quantize(Decimal("1e-10"), ROUND_HALF_UP)
            exact[r["ProviderName"]] += Decimal(r["BilledCost"])
            ids.add(r["BillingAccountId"])
    got = dict(con.execute("select ProviderName, sum(BilledCost) from focus_costs where x_source = 'focus_files' "
                           "and ProviderName in ('AWS', 'Microsoft', 'Oracle') group by 1").fetchall())
    assert got == dict(expected)
    assert all(abs(got[p] - exact[p]) < Decimal("5e-8") for p in exact)
    assert con.execute("select count(*) from stg_focus__lines "
                       "where _source_name = 'focus-sample'").fetchone()[0] == 1000
    assert {r[0] for r in con.execute("select distinct BillingAccountId from focus_costs "
                                      "where x_source = 'focus_files' "
                                      "and ProviderName in ('AWS', 'Microsoft', 'Oracle')").fetchall()} == ids
    # application from Tags through the tag_keys seed
    apps = con.execute("select count(*) from focus_costs where x_application is not null").fetchone()[0]
    assert apps > 0


def test_commitment_identity_through_focus_costs(built):
    con, _ = built
    rows = con.execute("""
        select s._source_uri,
               sum(f.EffectiveCost) filter (where f.ChargeCategory = 'Usage'),
               sum(f.BilledCost) filter (where f.ChargeCategory = 'Purchase')
        from focus_costs f
        join stg_focus__lines s
          on f.x_line_id = md5(coalesce(cast(s._source_name as varchar), '~null~') || '|' ||
                               coalesce(cast(s._source_uri as varchar), '~null~') || '|' ||
                               coalesce(cast(s.row_number as varchar), '~null~'))
        where s._source_name = 'spec-examples' and f.CommitmentDiscountId is not null
        group by 1 order by 1""").fetchall()
    assert [(Path(u).stem, used, bought) for u, used, bought in rows] == [
        ("one_hundred_percent_utilization_with_commitment_discount_flexibility_with_1_resource",
         Decimal("0.5"), Decimal("0.5")),
        ("one_hundred_percent_utilization_with_commitment_discount_flexibility_with_2_resources",
         Decimal("2"), Decimal("2")),
        ("one_hundred_percent_utilization_without_commitment_discount_flexibility", Decimal("1.5"), Decimal("1.5")),
        ("zero_percent_utilization_without_commitment_discount_flexibility", Decimal("1.5"), Decimal("1.5")),
    ]


def test_spec_examples_take_the_currency_option_and_pass_every_mart_test(built):
    """Through the real path the 11 spec-example rows used to reach focus_costs without a currency
    and fail its not-null test ({"not_null_focus_costs_BillingCurrency": 11}), blocking the publish.
    With `billing_currency: USD` they carry USD, each row saying where it came from, and every
    focus_costs test of the run's build passed (the official sample's own currency untouched)."""
    con, run = built
    assert con.execute("""
        select f.BillingCurrency, count(*), count(*) filter (where json_extract_string(s.extra_json,
               '$.aispend_BillingCurrency_from') = 'source option billing_currency')
        from focus_costs f
        join stg_focus__lines s
          on f.x_line_id = md5(coalesce(cast(s._source_name as varchar), '~null~') || '|' ||
                               coalesce(cast(s._source_uri as varchar), '~null~') || '|' ||
                               coalesce(cast(s.row_number as varchar), '~null~'))
        where s._source_name = 'spec-examples' group by 1""").fetchall() == [("USD", 11, 11)]
    assert con.execute("select count(*) from stg_focus__lines where _source_name = 'focus-sample' and "
                       "extra_json like '%aispend_BillingCurrency_from%'").fetchone()[0] == 0
    results = json.loads((run.home / "warehouse" / "build" / "dbt-target" / "run_results.json").read_text())["results"]
    focus_tests = {r["unique_id"].split(".")[2]: r["status"] for r in results
                   if r["unique_id"].startswith("test.") and "focus_costs" in r["unique_id"]}
    assert "not_null_focus_costs_BillingCurrency" in focus_tests
    assert set(focus_tests.values()) == {"pass"}


def test_without_the_currency_option_the_ingest_names_file_and_column_and_keeps_the_warehouse(real_run, shared_data,
                                                                                             tmp_path):
    """The same spec examples without the option, on a copy of the published home: the billing
    ingest fails naming the source, the file and the column; nothing is published, the previous
    warehouse and the previous raw partition stay as they were."""
    home = tmp_path / "home"
    for part in ("lake", "warehouse"):
        shutil.copytree(real_run.home / part, home / part, symlinks=True)
    published = home / "warehouse" / "aispend.duckdb"
    raw = home / "lake" / "raw" / "focus_lines" / "source=spec-examples" / "billing_period=2023-01"

    def digest(paths):
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}

    before = digest([published, *sorted(raw.iterdir())])
    config = tmp_path / "aispend.yaml"
    config.write_text(f'start_date: "{REAL_START}"\nsources:\n'
                      f"  - {{name: spec-examples, type: focus_files, uri: '{shared_data / FLEX}'}}\n")
    res = aispend("run", "--config", str(config), "--end", REAL_END, home=home)
    assert res.returncode == 1
    first = sorted(shared_data.joinpath(FLEX).glob("*.csv"))[0]
    assert (f"billing ingest {REAL_START[:7]}..{REAL_END[:7]} failed; nothing was published and the previous "
            f"warehouse is unchanged" in res.stderr)
    assert (f"focus_lines: source 'spec-examples' (focus_files): nothing written, previous data kept: focus_files: "
            f"{first}: has no BillingCurrency column, nor a PricingCurrency" in res.stderr)
    assert "source option billing_currency (e.g. billing_currency: USD)" in res.stderr
    assert digest([published, *sorted(raw.iterdir())]) == before
