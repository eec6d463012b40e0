"""GCP Cloud Billing *detailed* export rows, as BigQuery JSON lines, one file per invoice month.

Each line is one row of the BigQuery table `gcp_billing_export_resource_v1_<ACCOUNT>` in the
nested shape BigQuery exports as JSON (service{}, sku{}, project{}, labels[{key,value}],
credits[{...}], invoice{month}, usage{}, price{} ...). Timestamps are RFC 3339 UTC strings.

Projects (label `team`, `application`):
- `search-prod` (search / doc-search): 2 n2-standard-16 VMs (one covered by a 1-year CUD, one
  earning sustained-use discounts), Gemini 2.5 Flash tokens, BigQuery, Cloud Storage.
- `support-prod` (support / support-agent): Gemini 2.5 Flash tokens, Cloud Storage.
- `ml-research-sandbox` (ml-research / eval-harness): Vertex AI A100 training jobs (hourly,
  some hours), Gemini 2.5 Pro tokens, BigQuery, Cloud Storage.

Unit prices (list, us-central1, USD): n2 vCPU $0.031611/h and RAM $0.004237/GiB-h (Compute
Engine price list); A100 40GB on Vertex AI training $2.933908/GPU-h; Gemini 2.5 Pro $1.25/$10
and 2.5 Flash $0.30/$2.50 per 1M input/output tokens (genai-prices `google`); BigQuery
on-demand $6.25/TiB (first 1 TiB/month free: FREE_TIER credit); Cloud Storage Standard
$0.020/GB-month.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from ._common import TEAM_APP, Window, child_rng, day_start, rfc3339, stable_id, weekday_factor

BILLING_ACCOUNT = "01A2B3-C4D5E6-F7A8B9"
ORG_NUMBER = "418273645091"
SERVICES = {
    "Compute Engine": "6F81-5844-456A",
    "Vertex AI": "C7E2-9256-1C43",
    "BigQuery": "24E6-581D-38E5",
    "Cloud Storage": "95FF-2EF5-5EA1",
}
PROJECTS = {  # project id -> (team, number)
    "search-prod": ("search", "602183947512"),
    "support-prod": ("support", "602183947513"),
    "ml-research-sandbox": ("ml-research", "602183947514"),
}
N2_VCPU, N2_RAM = 0.031611, 0.004237
A100_HOUR = 2.933908
GEMINI = {  # model -> (sku label, $/M in, $/M out)
    "gemini-2.5-pro": ("Gemini 2.5 Pro", 1.25, 10.0),
    "gemini-2.5-flash": ("Gemini 2.5 Flash", 0.30, 2.50),
}
BQ_PER_TIB, GCS_GB_MONTH = 6.25, 0.020


def _sku_id(desc: str) -> str:
    h = stable_id("gcp-sku", desc, n=12).upper()
    return f"{h[:4]}-{h[4:8]}-{h[8:12]}"


def _row(*, service: str, sku: str, project: str, start: datetime, hours: float, cost: float,
         usage_amount: float, usage_unit: str, pricing_amount: float, pricing_unit: str,
         price: float, credits: list[dict] | None = None, zone: str | None = None,
         resource: str | None = None, system_labels: list[dict] | None = None) -> dict:
    team, number = PROJECTS[project]
    end = start + timedelta(hours=hours)
    region = "us-central1"
    return {
        "billing_account_id": BILLING_ACCOUNT,
        "service": {"id": SERVICES[service], "description": service},
        "sku": {"id": _sku_id(sku), "description": sku},
        "usage_start_time": rfc3339(start),
        "usage_end_time": rfc3339(end),
        "project": {"id": project, "number": number, "name": project,
                    "labels": [{"key": "team", "value": team}],
                    "ancestry_numbers": f"/{ORG_NUMBER}/", "ancestors": [
                        {"resource_name": f"projects/{number}", "display_name": project},
                        {"resource_name": f"organizations/{ORG_NUMBER}",
                         "display_name": "aispend-demo.example"}]},
        "labels": [{"key": "team", "value": team}, {"key": "application", "value": TEAM_APP[team]}],
        "system_labels": system_labels or [],
        "location": {"location": zone or region, "country": "US", "region": region, "zone": zone},
        "resource": {"name": resource, "global_name": (
            f"//compute.googleapis.com/projects/{project}/zones/{zone}/instances/{resource}"
            if resource and zone else None)},
        "tags": [],
        "price": {"effective_price": price, "tier_start_amount": 0.0, "unit": pricing_unit,
                  "pricing_unit_quantity": 1.0},
        "subscription": {"instance_id": None},
        "transaction_type": "GOOGLE",
        "seller_name": "Google",
        "export_time": rfc3339(end + timedelta(hours=3, minutes=17)),
        "cost": round(cost, 6),
        "cost_at_list": round(cost, 6),
        "currency": "USD",
        "currency_conversion_rate": 1.0,
        "usage": {"amount": usage_amount, "unit": usage_unit,
                  "amount_in_pricing_units": pricing_amount, "pricing_unit": pricing_unit},
        "credits": credits or [],
        "invoice": {"month": start.strftime("%Y%m"), "publisher_type": "Google"},
        "cost_type": "regular",
        "adjustment_info": None,
    }


def build(seed: int, window: Window) -> dict[str, list[dict]]:
    """Rows per invoice month (YYYYMM), deterministic for a seed."""
    rng = child_rng(seed, "gcp_billing")
    months: dict[str, list[dict]] = {}
    bq_scanned: dict[tuple[str, str], float] = {}  # (month, project) -> TiB so far (free tier)
    for d in window.days:
        t0 = day_start(d)
        wk = weekday_factor(d)
        out = months.setdefault(t0.strftime("%Y%m"), [])
        # Compute Engine: two n2-standard-16 VMs, hourly, 16 vCPU + 64 GiB each.
        for vm, credit_type in (("search-web-1", "COMMITTED_USAGE_DISCOUNT"),
                                ("search-batch-1", "SUSTAINED_USAGE_DISCOUNT")):
            for h in range(24):
                s = t0 + timedelta(hours=h)
                for kind, qty, unit_price, unit in (("Core", 16, N2_VCPU, "hour"),
                                                    ("Ram", 64, N2_RAM, "gibibyte hour")):
                    sku = f"N2 Instance {kind} running in Americas"
                    cost = qty * unit_price
                    if credit_type == "COMMITTED_USAGE_DISCOUNT":
                        cr = {"name": "Committed use discount: n2 1 year", "amount": round(-cost * 0.37, 6),
                              "full_name": None, "id": "CommittedUsageDiscount",
                              "type": credit_type}
                    else:
                        cr = {"name": "Sustained Usage Discount", "amount": round(-cost * 0.20, 6),
                              "full_name": None, "id": "SustainedUsageDiscount",
                              "type": credit_type}
                    usage = qty * 3600.0 if kind == "Core" else qty * 2**30 * 3600.0
                    out.append(_row(
                        service="Compute Engine", sku=sku, project="search-prod", start=s,
                        hours=1, cost=cost, usage_amount=usage,
                        usage_unit="seconds" if kind == "Core" else "byte-seconds",
                        pricing_amount=float(qty), pricing_unit=unit, price=unit_price,
                        credits=[cr], zone="us-central1-a", resource=vm,
                        system_labels=[{"key": "compute.googleapis.com/machine_spec",
                                        "value": "n2-standard-16"}]))
        # Vertex AI A100 training jobs (ml-research), some hours, 1-8 GPUs.
        busy = rng.random(24) < 0.45 * wk
        gpus = rng.choice([1, 2, 4, 8], size=24, p=[0.3, 0.3, 0.25, 0.15])
        for h in np.nonzero(busy)[0]:
            s = t0 + timedelta(hours=int(h))
            n = int(gpus[h])
            out.append(_row(
                service="Vertex AI", sku="Nvidia Tesla A100 GPU running in Americas",
                project="ml-research-sandbox", start=s, hours=1, cost=n * A100_HOUR,
                usage_amount=n * 3600.0, usage_unit="seconds", pricing_amount=float(n),
                pricing_unit="hour", price=A100_HOUR, zone="us-central1-a"))
        # Gemini tokens, daily per project and SKU.
        for project, model, m_in, m_out in (("search-prod", "gemini-2.5-flash", 85e6, 7e6),
                                            ("support-prod", "gemini-2.5-flash", 25e6, 3e6),
                                            ("ml-research-sandbox", "gemini-2.5-pro", 18e6, 2.5e6)):
            label, p_in, p_out = GEMINI[model]
            level = wk * rng.lognormal(0, 0.12)
            for kind, mtok, price in (("Input", m_in, p_in), ("Output", m_out, p_out)):
                tokens = float(np.round(mtok * level))
                out.append(_row(
                    service="Vertex AI", sku=f"{label} Text {kind} - Predictions",
                    project=project, start=t0, hours=24, cost=tokens / 1e6 * price,
                    usage_amount=tokens, usage_unit="count", pricing_amount=tokens / 1e6,
                    pricing_unit="1M count", price=price,
                    system_labels=[{"key": "aiplatform.googleapis.com/model", "value": model}]))
        # BigQuery on-demand analysis, daily; the first TiB of each month is free.
        for project, tib in (("search-prod", 0.9), ("ml-research-sandbox", 0.6)):
            scanned = float(np.round(tib * wk * rng.lognormal(0, 0.3), 6))
            key = (t0.strftime("%Y%m"), project)
            before = bq_scanned.get(key, 0.0)
            free = max(0.0, min(scanned, 1.0 - before))
            bq_scanned[key] = before + scanned
            cost = scanned * BQ_PER_TIB
            credits = ([{"name": "Free Tier", "amount": round(-free * BQ_PER_TIB, 6),
                         "full_name": None, "id": "FreeTier", "type": "FREE_TIER"}]
                       if free > 0 else [])
            out.append(_row(
                service="BigQuery", sku="Analysis", project=project, start=t0, hours=24,
                cost=cost, usage_amount=scanned * 2**40, usage_unit="bytes",
                pricing_amount=scanned, pricing_unit="tebibyte", price=BQ_PER_TIB,
                credits=credits))
        # Cloud Storage Standard, daily GB-month.
        for project, tb in (("search-prod", 20.0), ("support-prod", 3.0),
                            ("ml-research-sandbox", 45.0)):
            gbmo = tb * 1000 / 30.0
            out.append(_row(
                service="Cloud Storage", sku="Standard Storage US Multi-region",
                project=project, start=t0, hours=24, cost=gbmo * GCS_GB_MONTH,
                usage_amount=gbmo * 2**30 * 30 * 86400, usage_unit="byte-seconds",
                pricing_amount=gbmo, pricing_unit="gibibyte month", price=GCS_GB_MONTH))
    return months


def write(root: Path, months: dict[str, list[dict]]) -> dict[str, int]:
    root.mkdir(parents=True, exist_ok=True)
    counts = {}
    for month, rows in sorted(months.items()):
        text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows)
        (root / f"{month}.jsonl").write_text(text)
        counts[month] = len(rows)
    return counts


def total(months: dict[str, list[dict]]) -> dict[str, float]:
    """Net cost (cost + credits) per invoice month."""
    return {m: round(sum(r["cost"] + sum(c["amount"] for c in r["credits"]) for r in rows), 2)
            for m, rows in months.items()}
