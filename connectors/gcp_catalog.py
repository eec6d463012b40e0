"""GCP Cloud Billing Catalog: public list prices of GPU / TPU SKUs (what repatriation compares against).

Endpoint: Cloud Billing Catalog API v1 through google-cloud-billing's ``CloudCatalogClient``
(REST transport): ``services.list`` to find the services by display name (default Compute Engine
and Cloud TPU), then ``services.skus.list`` for each, page by page (``nextPageToken``).
Grain: one row per SKU × pricing info (effective time) × price tier. Kept: SKUs whose category
``resourceGroup`` is GPU/TPU or whose description names an accelerator (`ACCELERATOR`).
Prices: ``unitPrice`` is a google.type.Money (``units`` + ``nanos`` 10⁻⁹) per ``usageUnit``
(e.g. ``h``), converted exactly to a DECIMAL; regions stay a JSON array (``serviceRegions``).
The catalog has only current prices: a snapshot, replaced whole on each load.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, Iterable

import pyarrow as pa

from connectors.errors import SourceError

SOURCE = "gcp_catalog"
DEFAULT_ENDPOINT = "https://cloudbilling.googleapis.com"
DEFAULT_SERVICES = ("Compute Engine", "Cloud TPU")
# Accelerator names as they appear in SKU descriptions ("Nvidia H100 80GB GPU running in Americas",
# "Tpu-v5e ...", "Nvidia L4 GPU attached to Spot Preemptible VMs ...")
ACCELERATOR = re.compile(r"\b(GPU|TPU|TPU-?v\d+\w*|H100|H200|B200|GB200|A100|A10G?|L4|L40S?|T4|V100|P100|P4|K80)\b",
                         re.IGNORECASE)
ACCELERATOR_GROUPS = {"GPU", "TPU"}

TS = pa.timestamp("us", tz="UTC")
PRICE = pa.decimal128(38, 9)  # Money nanos are 10⁻⁹: exact
_S, _F = pa.string(), pa.float64()
SCHEMAS = {"gcp_catalog_skus": pa.schema([
    ("service_id", _S), ("service_display_name", _S), ("sku_id", _S), ("sku_name", _S), ("description", _S),
    ("resource_family", _S), ("resource_group", _S), ("usage_type", _S), ("service_regions", _S),
    ("geo_taxonomy_type", _S), ("effective_time", TS), ("summary", _S), ("usage_unit", _S),
    ("usage_unit_description", _S), ("base_unit", _S), ("base_unit_conversion_factor", _F),
    ("display_quantity", _F), ("tier_index", pa.int32()), ("start_usage_amount", _F), ("currency_code", _S),
    ("unit_price", PRICE), ("currency_conversion_rate", _F), ("service_provider_name", _S), ("_source_uri", _S)])}


def money(units: Any, nanos: Any) -> Decimal:
    """google.type.Money → Decimal, exactly (units "2", nanos 480000000 → 2.48)."""
    return Decimal(int(units or 0)) + Decimal(int(nanos or 0)).scaleb(-9)


def is_accelerator(description: str | None, resource_group: str | None) -> bool:
    """GPU/TPU SKU: by catalog category, or by an accelerator name in the description."""
    return (resource_group or "").upper() in ACCELERATOR_GROUPS or bool(ACCELERATOR.search(description or ""))


def client(api_endpoint: str | None = None, anonymous: bool = False):
    """A REST CloudCatalogClient (application-default credentials; `anonymous` for emulators)."""
    from google.auth.credentials import AnonymousCredentials
    from google.auth.exceptions import DefaultCredentialsError
    from google.cloud import billing_v1

    kwargs: dict[str, Any] = {"transport": "rest", "client_options": {"api_endpoint": api_endpoint or DEFAULT_ENDPOINT}}
    if anonymous:
        kwargs["credentials"] = AnonymousCredentials()
    try:
        return billing_v1.CloudCatalogClient(**kwargs)
    except DefaultCredentialsError as e:
        raise SourceError(SOURCE, api_endpoint or DEFAULT_ENDPOINT,
                          f"no Google credentials (application default): {e}") from None


def _msg(e) -> str:
    # the REST transport prefixes "GET <url>: "; the page is already named in `where`
    return re.sub(r"^[A-Z]+ \S+: ", "", str(getattr(e, "message", None) or e))[:300]


def _call(where: str, fn):
    from google.api_core import exceptions as gexc
    from google.auth.exceptions import GoogleAuthError

    try:
        return fn()
    except gexc.Forbidden as e:
        raise SourceError(SOURCE, where, f"permission denied (403): {_msg(e)}") from None
    except gexc.NotFound as e:
        raise SourceError(SOURCE, where, f"not found (404): {_msg(e)}") from None
    except gexc.GoogleAPIError as e:
        raise SourceError(SOURCE, where, f"Cloud Billing Catalog API error: {_msg(e)}") from None
    except GoogleAuthError as e:
        raise SourceError(SOURCE, where, f"credentials error: {e}") from None


def _pages(where: str, pager) -> Iterable[tuple[str, Any]]:
    # iterate pages explicitly so an error names the page it happened on
    it = iter(_call(where, lambda: pager.pages))
    n = 1
    while True:
        page = _call(f"{where} page {n}", lambda: next(it, None))
        if page is None:
            return
        yield f"{where} page {n}", page
        n += 1


def sku_rows(cat, endpoint: str, services: Iterable[str] = DEFAULT_SERVICES, currency: str | None = None) -> pa.Table:
    """Accelerator SKUs of the named services, one row per SKU × pricing info × tier."""
    wanted = {s.lower() for s in services}
    base = endpoint.rstrip("/")
    found = {}
    for _, page in _pages(f"{base}/v1/services", _call(f"{base}/v1/services", cat.list_services)):
        for svc in page.services:
            if svc.display_name.lower() in wanted:
                found[svc.display_name.lower()] = svc
    missing = sorted(wanted - set(found))
    if missing:
        raise SourceError(SOURCE, f"{base}/v1/services", f"service(s) not in the catalog: {', '.join(missing)}")
    rows: list[dict] = []
    for svc in found.values():
        where = f"{base}/v1/{svc.name}/skus"
        request = {"parent": svc.name, **({"currency_code": currency} if currency else {})}
        pager = _call(where, lambda: cat.list_skus(request=request))  # noqa: B023 (_call calls it at once)
        for page_where, page in _pages(where, pager):
            for sku in page.skus:
                cat_ = sku.category
                if not is_accelerator(sku.description, cat_.resource_group):
                    continue
                for info in sku.pricing_info:
                    expr = info.pricing_expression
                    for i, tier in enumerate(expr.tiered_rates):
                        rows.append({
                            "service_id": svc.service_id, "service_display_name": svc.display_name,
                            "sku_id": sku.sku_id, "sku_name": sku.name, "description": sku.description,
                            "resource_family": cat_.resource_family, "resource_group": cat_.resource_group,
                            "usage_type": cat_.usage_type, "service_regions": json.dumps(list(sku.service_regions)),
                            "geo_taxonomy_type": sku.geo_taxonomy.type_.name if sku.geo_taxonomy else None,
                            "effective_time": info.effective_time, "summary": info.summary or None,
                            "usage_unit": expr.usage_unit, "usage_unit_description": expr.usage_unit_description,
                            "base_unit": expr.base_unit or None,
                            "base_unit_conversion_factor": expr.base_unit_conversion_factor or None,
                            "display_quantity": expr.display_quantity or None, "tier_index": i,
                            "start_usage_amount": tier.start_usage_amount,
                            "currency_code": tier.unit_price.currency_code,
                            "unit_price": money(tier.unit_price.units, tier.unit_price.nanos),
                            "currency_conversion_rate": info.currency_conversion_rate or None,
                            "service_provider_name": sku.service_provider_name or None,
                            "_source_uri": page_where,
                        })
    return pa.Table.from_pylist(rows, schema=SCHEMAS["gcp_catalog_skus"])
