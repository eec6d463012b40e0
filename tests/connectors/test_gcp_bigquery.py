"""GCP billing export read from BigQuery through google-cloud-bigquery against a loopback REST peer.

The peer (`bigquery_peer.py`) speaks jobs.query / jobs.get / jobs.getQueryResults, encodes rows the
way BigQuery does and applies the connector's query parameters; nothing in the client is mocked.
The incremental flow (fingerprint skip, export_time watermark, late credits) runs through the real
Dagster ingest asset on a temporary home.
"""

import json
from datetime import datetime, timezone

import dagster as dg
import pyarrow.parquet as pq
import pytest

from bigquery_peer import DETAILED_SCHEMA, STANDARD_SCHEMA, BigQueryPeer, serve
from connectors import gcp_billing as g
from connectors.errors import SourceError
from pipelines.definitions import build_definitions

UTC = timezone.utc
TABLE = "acme-billing.billing_export.gcp_billing_export_resource_v1_01A2B3_C4D5E6_F7A8B9"
URI = f"bq://{TABLE}"


def export_row(hour: int, *, month="202610", exported=datetime(2026, 10, 5, 6, tzinfo=UTC), cost=2.48,
               credits=(), day=1, sku="Nvidia H100 80GB GPU running in Americas"):
    """One detailed-export row in BigQuery's nested shape (one hour of one H100 in us-central1)."""
    start = datetime(2026, 10, day, hour, tzinfo=UTC)
    return {
        "billing_account_id": "01A2B3-C4D5E6-F7A8B9",
        "service": {"id": "6F81-5844-456A", "description": "Compute Engine"},
        "sku": {"id": "A1B2-C3D4-E5F6", "description": sku},
        "usage_start_time": start, "usage_end_time": start.replace(hour=hour + 1),
        "project": {"id": "ml-train", "number": "123456789012", "name": "ML training",
                    "labels": [{"key": "env", "value": "prod"}]},
        "labels": [{"key": "team", "value": "research"}], "system_labels": [],
        "location": {"location": "us-central1", "country": "US", "region": "us-central1", "zone": "us-central1-a"},
        "resource": {"name": "projects/ml-train/instances/a3-1", "global_name": "//compute.googleapis.com/a3-1"},
        "price": {"effective_price": "2.48", "tier_start_amount": "0", "unit": "hour", "pricing_unit_quantity": "1"},
        "export_time": exported, "cost": cost, "currency": "USD", "currency_conversion_rate": 1.0,
        "usage": {"amount": 3600.0, "unit": "seconds", "amount_in_pricing_units": 1.0, "pricing_unit": "hour"},
        "credits": list(credits), "invoice": {"month": month}, "cost_type": "regular",
        "cost_at_list": cost, "transaction_type": "GOOGLE", "seller_name": "Google",
    }


SUD = {"name": "Sustained usage discount", "amount": -0.5, "full_name": "Sustained usage discount",
       "id": "sud-1", "type": "SUSTAINED_USAGE_DISCOUNT"}


@pytest.fixture
def peer():
    p = BigQueryPeer()
    # October: 4 usage rows, one with a SUD credit; November: 1 row
    p.tables[TABLE] = (DETAILED_SCHEMA, [export_row(h, credits=[SUD] if h == 0 else []) for h in range(4)]
                       + [export_row(0, month="202611", exported=datetime(2026, 11, 2, tzinfo=UTC), day=30)])
    with serve(p) as url:
        p.url = url
        yield p


def client_for(peer, uri=URI):
    t = g.BigQueryTable.parse(uri)
    return t, g.bq_client(t, api_endpoint=peer.url, anonymous=True)


def net(table) -> float:
    return round(sum(table["cost"].to_pylist()) + sum(c["amount"] for cs in table["credits"].to_pylist()
                                                      for c in json.loads(cs)), 6)


def test_months_fingerprint_and_full_month_with_pagination(peer):
    t, c = client_for(peer)
    months = g.bq_months(c, t)
    assert list(months) == ["2026-10", "2026-11"]
    assert months["2026-10"].rows == 4 and months["2026-10"].max_export_time == datetime(2026, 10, 5, 6, tzinfo=UTC)
    assert months["2026-10"].fingerprint == "bq:2026-10-05T06:00:00+00:00:4"
    assert g.bq_read_month(c, t, months["2026-11"]).num_rows == 1
    assert peer.row_fetches() == 1  # one jobs.query, everything in its first page

    before = len(peer.requests)
    oct_ = g.bq_read_month(c, t, months["2026-10"], page_size=3)
    pages = [r for r in peer.requests[before:] if r[0] == "GET" and "/queries/" in r[1]]
    assert [p[2]["pageToken"] for p in pages] == ["3"]  # 3 rows in jobs.query, 1 in getQueryResults
    assert oct_.schema == g.SCHEMAS["gcp_billing"] and oct_.num_rows == 4
    assert net(oct_) == 4 * 2.48 - 0.5  # 9.42
    first = oct_.slice(0, 1).to_pylist()[0]
    assert first["usage_start_time"] == datetime(2026, 10, 1, 0, tzinfo=UTC)
    assert first["export_time"] == datetime(2026, 10, 5, 6, tzinfo=UTC)
    assert json.loads(first["labels"]) == {"team": "research"} and first["price_effective_price"] == 2.48
    assert json.loads(first["credits"])[0]["type"] == "SUSTAINED_USAGE_DISCOUNT"
    assert first["_source_uri"] == URI
    # values travel as bound parameters, never in the SQL text
    body = peer.queries("rows")[-1]
    assert "202610" not in body["query"] and {p["name"] for p in body["queryParameters"]} == {
        "invoice_month", "after", "upto"}


def test_standard_export_lacks_resource_and_price_fields(peer):
    std = "acme-billing.billing_export.gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9"
    peer.tables[std] = (STANDARD_SCHEMA, [export_row(0)])
    t, c = client_for(peer, f"bq://{std}")
    row = g.bq_read_month(c, t, g.bq_months(c, t)["2026-10"]).to_pylist()[0]
    assert row["resource_name"] is None and row["price_effective_price"] is None and row["cost_at_list"] is None
    assert row["cost"] == 2.48 and row["sku_description"].startswith("Nvidia H100")


def test_watermark_reads_only_newer_rows_and_unions(peer):
    t, c = client_for(peer)
    old = g.bq_read_month(c, t, g.bq_months(c, t)["2026-10"])
    late = export_row(2, cost=0.0, exported=datetime(2026, 10, 20, tzinfo=UTC),
                      credits=[{"name": "Free trial", "amount": -1.25, "full_name": "Free trial credit",
                                "id": "ft", "type": "FREE_TIER"}])
    peer.tables[TABLE][1].append(late)
    state = g.bq_months(c, t)["2026-10"]
    merged = g.bq_read_month(c, t, state, previous=old)
    after = peer.queries("rows")[-1]["queryParameters"]
    assert {p["name"]: p["parameterValue"]["value"] for p in after}["after"] == "2026-10-05 06:00:00+00:00"
    assert merged.num_rows == 5 and net(merged) == round(4 * 2.48 - 0.5 - 1.25, 6)
    # the same again: old ∪ nothing new, still 5 rows (a rerun never duplicates)
    assert g.bq_read_month(c, t, state, previous=merged).num_rows == 5


def test_watermark_falls_back_to_full_read_when_counts_disagree(peer):
    t, c = client_for(peer)
    state = g.bq_months(c, t)["2026-10"]
    partial = g.bq_read_month(c, t, state).slice(0, 2)  # a raw partition missing rows older than the watermark
    assert g.bq_read_month(c, t, state, previous=partial).num_rows == 4
    assert [p["parameterValue"]["value"] for p in peer.queries("rows")[-1]["queryParameters"]
            if p["name"] == "after"] == ["1970-01-01 00:00:00+00:00"]


@pytest.mark.parametrize("status,reason,problem", [
    (403, "accessDenied", "permission denied (403): Access Denied: Table acme-billing:billing_export"),
    (404, "notFound", "table or dataset not found (404)"),
])
def test_permission_and_missing_table_errors_name_the_table(peer, status, reason, problem):
    t, c = client_for(peer)
    peer.fail = (status, reason, "Access Denied: Table acme-billing:billing_export.x: User does not have "
                 "permission bigquery.tables.getData" if status == 403 else "Not found: Table x")
    with pytest.raises(SourceError) as e:
        g.bq_months(c, t)
    assert str(e.value).startswith(f"gcp_billing: {URI}: listing invoice months: {problem}")


def test_table_name_is_validated_before_it_reaches_sql():
    with pytest.raises(SourceError, match="not a BigQuery table URI"):
        g.BigQueryTable.parse("bq://acme-billing.ds.t` WHERE 1=1; --")
    assert g.BigQueryTable.parse("bq://example.com:acme-billing.ds.t_1").project == "example.com:acme-billing"


# --- through the Dagster ingest asset: fingerprint skip, watermark, late credits, failures ---

def _defs(tmp_path, peer):
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text(f"start_date: '2026-09-01'\nsources:\n  - {{name: gcp, type: gcp_billing, uri: '{URI}', "
                   f"api_endpoint: '{peer.url}', anonymous: true, page_size: 3}}\n")
    return build_definitions(str(cfg), str(tmp_path / "home"))


def _materialize(defs):
    return dg.materialize(list(defs.assets), selection=[dg.AssetKey(["raw", "gcp_billing"])],
                          resources=defs.resources, raise_on_error=False,
                          tags={"dagster/asset_partition_range_start": "2026-10",
                                "dagster/asset_partition_range_end": "2026-11"})


def _partition(tmp_path, month):
    return pq.read_table(tmp_path / "home/lake/raw/gcp_billing/source=gcp" / f"billing_period={month}")


def _failure(res):
    return "\n".join(ev.event_specific_data.error.message for ev in res.all_events
                     if ev.event_type_value == "STEP_FAILURE")


def test_asset_skips_unchanged_months_and_lands_late_credits_once(peer, tmp_path):
    defs = _defs(tmp_path, peer)
    assert _materialize(defs).success
    assert _partition(tmp_path, "2026-10").num_rows == 4 and net(_partition(tmp_path, "2026-10")) == 9.42
    assert _partition(tmp_path, "2026-11").num_rows == 1

    fetched = peer.row_fetches()
    res = _materialize(defs)
    assert res.success and peer.row_fetches() == fetched  # unchanged: no row was read
    mat = res.asset_materializations_for_node("raw__gcp_billing")[0].metadata
    assert mat["partitions_unchanged"].value == 2 and mat["partitions_written"].value == 0

    # a late credit for 1 Oct usage, appended to the open October invoice, and a November-invoiced one
    peer.tables[TABLE][1].append(export_row(1, cost=0.0, exported=datetime(2026, 10, 21, tzinfo=UTC),
                                            credits=[dict(SUD, amount=-0.75)]))
    peer.tables[TABLE][1].append(export_row(3, month="202611", cost=0.0, exported=datetime(2026, 11, 3, tzinfo=UTC),
                                            credits=[dict(SUD, id="sud-2", amount=-0.25)]))
    fetched = len(peer.queries("rows"))
    assert _materialize(defs).success
    new_queries = peer.queries("rows")[fetched:]
    assert [{p["name"]: p["parameterValue"]["value"] for p in q["queryParameters"]}["after"]
            for q in new_queries] == ["2026-10-05 06:00:00+00:00", "2026-11-02 00:00:00+00:00"]
    oct_, nov = _partition(tmp_path, "2026-10"), _partition(tmp_path, "2026-11")
    assert oct_.num_rows == 5 and net(oct_) == round(9.42 - 0.75, 6)
    assert nov.num_rows == 2 and net(nov) == round(2.48 - 0.25, 6)

    # a rerun after all that: nothing read, nothing doubled
    fetched = peer.row_fetches()
    assert _materialize(defs).success and peer.row_fetches() == fetched
    assert _partition(tmp_path, "2026-10").num_rows == 5


def test_asset_permission_error_writes_nothing_and_keeps_previous(peer, tmp_path):
    defs = _defs(tmp_path, peer)
    assert _materialize(defs).success
    peer.tables[TABLE][1].append(export_row(1, cost=9.0, exported=datetime(2026, 10, 22, tzinfo=UTC)))
    peer.fail = (403, "accessDenied", "Access Denied: Table acme-billing:billing_export.gcp_billing_export_"
                 "resource_v1_01A2B3_C4D5E6_F7A8B9: User does not have permission bigquery.tables.getData")
    res = _materialize(defs)
    assert not res.success
    text = _failure(res)
    assert "source 'gcp' (gcp_billing)" in text and URI in text and "permission denied (403)" in text
    assert "nothing written, previous data kept" in text
    assert _partition(tmp_path, "2026-10").num_rows == 4
