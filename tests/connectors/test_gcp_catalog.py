"""Cloud Billing Catalog list prices through google-cloud-billing's CloudCatalogClient (REST transport)
against a loopback server speaking the Catalog API v1: services.list and services.skus.list with
page tokens. Prices are checked by hand from units + nanos."""

import json
import threading
from datetime import datetime, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import dagster as dg
import pyarrow.parquet as pq
import pytest

from connectors import gcp_catalog
from connectors.errors import SourceError
from pipelines.definitions import build_definitions

CE, TPU, STORAGE = "6F81-5844-456A", "E000-3F24-B8AA", "95FF-2EF5-5EA1"


def sku(sku_id, description, group, usage_type, unit, units, nanos, regions=("us-central1",), tiers=None):
    rates = tiers or [{"startUsageAmount": 0, "unitPrice": {"currencyCode": "USD", "units": units, "nanos": nanos}}]
    return {"name": f"services/{CE}/skus/{sku_id}", "skuId": sku_id, "description": description,
            "category": {"serviceDisplayName": "Compute Engine", "resourceFamily": "Compute",
                         "resourceGroup": group, "usageType": usage_type},
            "serviceRegions": list(regions),
            "pricingInfo": [{"summary": "", "effectiveTime": "2026-11-01T08:00:00.123456Z", "currencyConversionRate": 1,
                             "pricingExpression": {"usageUnit": unit, "usageUnitDescription": "hour", "baseUnit": "s",
                                                   "baseUnitDescription": "second", "baseUnitConversionFactor": 3600,
                                                   "displayQuantity": 1, "tieredRates": rates}}],
            "serviceProviderName": "Google", "geoTaxonomy": {"type": "REGIONAL", "regions": list(regions)}}


SERVICES = [  # two pages
    [{"name": f"services/{STORAGE}", "serviceId": STORAGE, "displayName": "Cloud Storage"},
     {"name": f"services/{CE}", "serviceId": CE, "displayName": "Compute Engine"}],
    [{"name": f"services/{TPU}", "serviceId": TPU, "displayName": "Cloud TPU"}],
]
CE_SKUS = [  # two pages; the N2 core and the PD are not accelerators
    [sku("A1", "Nvidia H100 80GB GPU running in Americas", "GPU", "OnDemand", "h", "11", 60_000_000),
     sku("B2", "N2 Instance Core running in Americas", "CPU", "OnDemand", "h", "0", 31_611_000),
     sku("C3", "Nvidia L4 GPU attached to Spot Preemptible VMs running in Americas", "GPU", "Preemptible", "h",
         "0", 224_000_000, regions=("us-central1", "us-east4"))],
    [sku("D4", "Commitment v1: Nvidia A100 80GB GPU in Americas for 1 Year", "GPU", "Commit1Yr", "h", "2", 480_000_000),
     sku("E5", "Storage PD Capacity", "SSD", "OnDemand", "GiBy.mo", "0", 40_000_000)],
]
TPU_SKUS = [[sku("F6", "Tpu-v5e accelerator-hours in us-west4", "TPU", "OnDemand", "h", "1", 200_000_000,
                 regions=("us-west4",),
                 tiers=[{"startUsageAmount": 0,
                         "unitPrice": {"currencyCode": "USD", "units": "1", "nanos": 200_000_000}},
                        {"startUsageAmount": 1000,
                         "unitPrice": {"currencyCode": "USD", "units": "0", "nanos": 960_000_000}}])]]


class CatalogPeer:
    def __init__(self):
        self.requests: list[str] = []
        self.fail: tuple[int, str] | None = None
        self.pages = {"/v1/services": (SERVICES, "services"), f"/v1/services/{CE}/skus": (CE_SKUS, "skus"),
                      f"/v1/services/{TPU}/skus": (TPU_SKUS, "skus")}

    def answer(self, url: str) -> tuple[int, dict]:
        self.requests.append(url)
        if self.fail:
            code, msg = self.fail
            return code, {"error": {"code": code, "message": msg, "status": "PERMISSION_DENIED"}}
        u = urlparse(url)
        if u.path not in self.pages:
            return 404, {"error": {"code": 404, "message": f"no route {u.path}", "status": "NOT_FOUND"}}
        pages, key = self.pages[u.path]
        n = int(parse_qs(u.query).get("pageToken", ["0"])[0] or 0)
        body = {key: pages[n]}
        if n + 1 < len(pages):
            body["nextPageToken"] = str(n + 1)
        return 200, body


@pytest.fixture
def catalog():
    p = CatalogPeer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status, body = p.answer(self.path)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    p.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield p
    server.shutdown()
    server.server_close()


def test_money_units_and_nanos_exact():
    assert gcp_catalog.money("2", 480_000_000) == Decimal("2.48")
    assert gcp_catalog.money("-1", -500_000_000) == Decimal("-1.5")
    assert gcp_catalog.money(None, 31_611_000) == Decimal("0.031611")


def test_accelerator_skus_with_list_prices_across_pages(catalog):
    cat = gcp_catalog.client(catalog.url, anonymous=True)
    t = gcp_catalog.sku_rows(cat, catalog.url)
    assert t.schema == gcp_catalog.SCHEMAS["gcp_catalog_skus"]
    rows = {(r["sku_id"], r["tier_index"]): r for r in t.to_pylist()}
    # A1, C3 (page 1), D4 (page 2) from Compute Engine; F6 with two tiers from Cloud TPU
    assert sorted(rows) == [("A1", 0), ("C3", 0), ("D4", 0), ("F6", 0), ("F6", 1)]
    assert {k: r["unit_price"] for k, r in rows.items()} == {
        ("A1", 0): Decimal("11.06"), ("C3", 0): Decimal("0.224"), ("D4", 0): Decimal("2.48"),
        ("F6", 0): Decimal("1.2"), ("F6", 1): Decimal("0.96")}
    assert rows[("D4", 0)]["usage_type"] == "Commit1Yr" and rows[("C3", 0)]["usage_type"] == "Preemptible"
    assert json.loads(rows[("C3", 0)]["service_regions"]) == ["us-central1", "us-east4"]
    assert rows[("F6", 1)]["start_usage_amount"] == 1000 and rows[("F6", 0)]["service_display_name"] == "Cloud TPU"
    a1 = rows[("A1", 0)]
    assert a1["usage_unit"] == "h" and a1["currency_code"] == "USD" and a1["resource_group"] == "GPU"
    assert a1["effective_time"] == datetime(2026, 11, 1, 8, 0, 0, 123456, tzinfo=timezone.utc)
    assert a1["_source_uri"] == f"{catalog.url}/v1/services/{CE}/skus page 1"
    tokens = [parse_qs(urlparse(u).query).get("pageToken") for u in catalog.requests]
    assert tokens == [None, ["1"], None, ["1"], None]  # services ×2 pages, CE skus ×2, TPU skus ×1


def test_catalog_permission_error_names_endpoint(catalog):
    catalog.fail = (403, "Cloud Billing API has not been used in project 123 before or it is disabled.")
    with pytest.raises(SourceError, match=rf"^gcp_catalog: {catalog.url}/v1/services: permission denied \(403\): "
                                          r"Cloud Billing API has not been used"):
        gcp_catalog.sku_rows(gcp_catalog.client(catalog.url, anonymous=True), catalog.url)


def test_missing_service_is_an_error(catalog):
    with pytest.raises(SourceError, match="service\\(s\\) not in the catalog: vertex ai"):
        gcp_catalog.sku_rows(gcp_catalog.client(catalog.url, anonymous=True), catalog.url, ["Vertex AI"])


def test_snapshot_asset_writes_catalog_for_sources_that_enable_it(catalog, tmp_path):
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text("start_date: 2026-11-01\nsources:\n"
                   f"  - {{name: gcp, type: gcp_billing, uri: /nonexistent, catalog: true, anonymous: true, "
                   f"catalog_api_endpoint: '{catalog.url}', catalog_services: [Compute Engine]}}\n"
                   "  - {name: gcp-other, type: gcp_billing, uri: /nonexistent}\n")
    defs = build_definitions(str(cfg), str(tmp_path / "home"))
    key = dg.AssetKey(["raw", "gcp_catalog_skus"])
    res = dg.materialize(list(defs.assets), selection=[key], resources=defs.resources, raise_on_error=False)
    assert res.success
    raw = tmp_path / "home/lake/raw/gcp_catalog_skus"
    assert [p.relative_to(raw).as_posix() for p in sorted(raw.glob("source=*/*"))] == ["source=gcp/snapshot=latest"]
    t = pq.read_table(raw / "source=gcp/snapshot=latest")
    assert sorted(t["sku_id"].to_pylist()) == ["A1", "C3", "D4"]
    assert sum(t["unit_price"].to_pylist()) == Decimal("13.764")

    catalog.fail = (403, "denied")
    res = dg.materialize(list(defs.assets), selection=[key], resources=defs.resources, raise_on_error=False)
    assert not res.success
    text = "\n".join(ev.event_specific_data.error.message for ev in res.all_events
                     if ev.event_type_value == "STEP_FAILURE")
    assert "source 'gcp' (gcp_billing): nothing written, previous data kept" in text
    assert f"{catalog.url}/v1/services: permission denied (403): denied" in text
    assert pq.read_table(raw / "source=gcp/snapshot=latest").num_rows == 3  # previous snapshot kept


def test_snapshot_asset_without_catalog_sources_writes_only_the_schema_file(catalog, tmp_path):
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text("start_date: 2026-11-01\nsources:\n  - {name: gcp, type: gcp_billing, uri: /nonexistent}\n")
    defs = build_definitions(str(cfg), str(tmp_path / "home"))
    key = dg.AssetKey(["raw", "gcp_catalog_skus"])
    res = dg.materialize(list(defs.assets), selection=[key], resources=defs.resources, raise_on_error=False)
    assert res.success and catalog.requests == []
    raw = tmp_path / "home/lake/raw/gcp_catalog_skus"
    assert [p.relative_to(raw).as_posix() for p in raw.rglob("*.parquet")] == ["_schema/empty.parquet"]
    assert pq.read_schema(raw / "_schema/empty.parquet").field("unit_price").type == gcp_catalog.PRICE
