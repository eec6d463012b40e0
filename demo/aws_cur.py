"""AWS Data Exports CUR 2.0 (Parquet) for the demo organisation.

Written in the real S3 layout of a Data Exports CUR 2.0 export so the `aws_cur` connector meets
the real thing (local directory = ``s3://<bucket>/<prefix>/<export-name>/``)::

    <root>/data/BILLING_PERIOD=YYYY-MM/<export>-00001.snappy.parquet
    <root>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json

`product`, `resource_tags`, `cost_category` and `discount` are Parquet MAP<string,string>
columns as in the real export. The Manifest.json carries the Data Exports keys (executionId,
exportArn, exportName, queryStatement, tableConfigurations, bucket, prefix, dataFiles, columns,
billingPeriod); `dataFiles` are the S3 URIs the local files stand for.

Organisation: payer 111122223333 with two usage accounts:
- 222233334444 `ml-research-prod`: 2x p5.48xlarge (8x H100 each) on-demand 24/7 at
  $98.32/h (AWS on-demand list price, us-east-1, Linux; the price the brief fixes), their EBS
  gp3 volumes ($0.08/GB-Mo), an S3 data lake ($0.023/GB-Mo), Bedrock Llama 3.1 70B
  ($0.72/MTok in and out: genai-prices `aws` provider, `meta.llama3-1-70b-instruct-v1:0`).
- 333344445555 `apps-prod`: Bedrock Claude Haiku 4.5 (team search) and Claude Sonnet 4.5 (team
  support) at Anthropic list prices, S3, data transfer out ($0.09/GB), CloudWatch
  ($0.30/metric-month, $0.50/GB logs ingested).
Instances and Bedrock are hourly line items; storage and CloudWatch are daily. A Tax line per
account is added for closed billing periods only (AWS invoices tax at month end): 6.25 % of
the account's usage (a Massachusetts-like sales tax; illustrative).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ._common import (
    SPIKE_DAY,
    SPIKE_FACTOR,
    SPIKE_TEAM,
    TEAM_APP,
    UTC,
    Window,
    child_rng,
    day_start,
    diurnal,
    month_bounds,
    month_key,
    stable_id,
    weekday_factor,
)

EXPORT_NAME = "aispend-demo-cur"
BUCKET = "aispend-demo-billing"
PREFIX = "cur2"
PAYER = ("111122223333", "aispend-demo-payer")
ACC_ML = ("222233334444", "ml-research-prod")
ACC_APPS = ("333344445555", "apps-prod")
REGION = "us-east-1"
P5_RATE = 98.32
TAX_RATE = 0.0625
LEGAL_ENTITY = "Amazon Web Services, Inc."

# team -> (account, bedrock model label, bedrock model id, $/MTok in, $/MTok out,
#          daily input tokens, daily output tokens)
BEDROCK = {
    "ml-research": (ACC_ML, "Llama3-1-70B", "meta.llama3-1-70b-instruct-v1:0", 0.72, 0.72,
                    120e6, 25e6),
    "search": (ACC_APPS, "Claude-Haiku-4-5", "anthropic.claude-haiku-4-5-20251001-v1:0", 1.0, 5.0,
               55e6, 6e6),
    "support": (ACC_APPS, "Claude-Sonnet-4-5", "anthropic.claude-sonnet-4-5-20250929-v1:0", 3.0,
                15.0, 14e6, 1.6e6),
}
# team -> (account, bucket, stored TB)
S3_BUCKETS = {
    "ml-research": (ACC_ML, "aispend-ml-datasets", 180.0),
    "search": (ACC_APPS, "aispend-search-index", 12.0),
    "support": (ACC_APPS, "aispend-support-attachments", 2.0),
}

STR, F64, TS = pa.string(), pa.float64(), pa.timestamp("ms", tz="UTC")
MAP = pa.map_(pa.string(), pa.string())
SCHEMA = pa.schema([
    ("bill_bill_type", STR), ("bill_billing_entity", STR),
    ("bill_billing_period_end_date", TS), ("bill_billing_period_start_date", TS),
    ("bill_invoice_id", STR), ("bill_payer_account_id", STR), ("bill_payer_account_name", STR),
    ("cost_category", MAP), ("discount", MAP),
    ("identity_line_item_id", STR), ("identity_time_interval", STR),
    ("line_item_availability_zone", STR), ("line_item_blended_cost", F64),
    ("line_item_blended_rate", STR), ("line_item_currency_code", STR),
    ("line_item_legal_entity", STR), ("line_item_line_item_description", STR),
    ("line_item_line_item_type", STR), ("line_item_net_unblended_cost", F64),
    ("line_item_operation", STR), ("line_item_product_code", STR),
    ("line_item_resource_id", STR), ("line_item_unblended_cost", F64),
    ("line_item_unblended_rate", STR), ("line_item_usage_account_id", STR),
    ("line_item_usage_account_name", STR), ("line_item_usage_amount", F64),
    ("line_item_usage_end_date", TS), ("line_item_usage_start_date", TS),
    ("line_item_usage_type", STR), ("pricing_public_on_demand_cost", F64),
    ("pricing_public_on_demand_rate", STR), ("pricing_term", STR), ("pricing_unit", STR),
    ("product", MAP), ("product_instance_family", STR), ("product_instance_type", STR),
    ("product_product_family", STR), ("product_region_code", STR), ("product_servicecode", STR),
    ("product_sku", STR), ("reservation_effective_cost", F64), ("resource_tags", MAP),
    ("savings_plan_savings_plan_effective_cost", F64),
])
_PARQUET_TYPE_NAMES = {STR: "string", F64: "double", TS: "timestamp", MAP: "map<string,string>"}
PRODUCT_NAMES = {
    "AmazonEC2": "Amazon Elastic Compute Cloud",
    "AmazonBedrock": "Amazon Bedrock",
    "AmazonS3": "Amazon Simple Storage Service",
    "AmazonCloudWatch": "AmazonCloudWatch",
}


def _rate(x: float) -> str:
    """CUR rates are decimal strings; keep up to 10 decimals, no float noise."""
    return f"{x:.10f}".rstrip("0").rstrip(".") or "0"


class _Rows:
    """Column-wise row builder: cheap appends, one Arrow table at the end."""

    def __init__(self) -> None:
        self.cols: dict[str, list] = {f.name: [] for f in SCHEMA}

    def add(self, *, period: str, account: tuple[str, str], start: datetime, end: datetime,
            item_type: str, product_code: str, usage_type: str, operation: str, resource: str,
            amount: float, rate: float, cost: float, description: str, unit: str,
            family: str, tags: dict[str, str] | None = None, az: str = "",
            instance_type: str = "", instance_family: str = "",
            product: dict[str, str] | None = None, invoice_id: str = "") -> None:
        p_start, p_end = month_bounds(period)
        c = self.cols
        on_demand = cost if item_type == "Usage" else 0.0
        c["bill_bill_type"].append("Anniversary")
        c["bill_billing_entity"].append("AWS")
        c["bill_billing_period_end_date"].append(p_end)
        c["bill_billing_period_start_date"].append(p_start)
        c["bill_invoice_id"].append(invoice_id)
        c["bill_payer_account_id"].append(PAYER[0])
        c["bill_payer_account_name"].append(PAYER[1])
        team = (tags or {}).get("user_team")
        bu = {"ml-research": "R&D"}.get(team or "", "Product" if team else "")
        c["cost_category"].append([("business_unit", bu)] if bu else [])
        c["discount"].append([])
        c["identity_line_item_id"].append(
            stable_id(period, account[0], item_type, usage_type, resource, start.isoformat(), n=52))
        c["identity_time_interval"].append(
            f"{start.strftime('%Y-%m-%dT%H:%M:%SZ')}/{end.strftime('%Y-%m-%dT%H:%M:%SZ')}")
        c["line_item_availability_zone"].append(az)
        c["line_item_blended_cost"].append(cost)
        c["line_item_blended_rate"].append(_rate(rate))
        c["line_item_currency_code"].append("USD")
        c["line_item_legal_entity"].append(LEGAL_ENTITY)
        c["line_item_line_item_description"].append(description)
        c["line_item_line_item_type"].append(item_type)
        c["line_item_net_unblended_cost"].append(cost)
        c["line_item_operation"].append(operation)
        c["line_item_product_code"].append(product_code)
        c["line_item_resource_id"].append(resource)
        c["line_item_unblended_cost"].append(cost)
        c["line_item_unblended_rate"].append(_rate(rate))
        c["line_item_usage_account_id"].append(account[0])
        c["line_item_usage_account_name"].append(account[1])
        c["line_item_usage_amount"].append(amount)
        c["line_item_usage_end_date"].append(end)
        c["line_item_usage_start_date"].append(start)
        c["line_item_usage_type"].append(usage_type)
        c["pricing_public_on_demand_cost"].append(on_demand)
        c["pricing_public_on_demand_rate"].append(_rate(rate) if item_type == "Usage" else "")
        c["pricing_term"].append("OnDemand" if item_type == "Usage" else "")
        c["pricing_unit"].append(unit)
        prod = {"product_name": PRODUCT_NAMES[product_code], "region": REGION,
                "location": "US East (N. Virginia)", "location_type": "AWS Region"}
        prod.update(product or {})
        c["product"].append(sorted(prod.items()) if item_type == "Usage" else [])
        c["product_instance_family"].append(instance_family)
        c["product_instance_type"].append(instance_type)
        c["product_product_family"].append(family)
        c["product_region_code"].append(REGION if item_type == "Usage" else "")
        c["product_servicecode"].append(product_code)
        c["product_sku"].append(stable_id("sku", product_code, usage_type, n=16).upper()
                                if item_type == "Usage" else "")
        c["reservation_effective_cost"].append(0.0)
        c["resource_tags"].append(sorted((tags or {}).items()))
        c["savings_plan_savings_plan_effective_cost"].append(0.0)

    def table(self) -> pa.Table:
        return pa.table(self.cols, schema=SCHEMA)


def _tags(team: str) -> dict[str, str]:
    return {"user_team": team, "user_application": TEAM_APP[team]}


def build(seed: int, window: Window, *, last_closed: str) -> tuple[dict[str, pa.Table], dict]:
    """Build one CUR 2.0 table per billing period in the window.

    Returns (tables by period, facts) where facts holds the spike's expected values.
    `last_closed` is the latest billing period that AWS has closed (tax invoiced).
    """
    rng = child_rng(seed, "aws_cur")
    rows: dict[str, _Rows] = {}
    hours = np.arange(24)
    bedrock_daily: dict[date, float] = {}  # ml-research Bedrock cost per day (with spike)
    spike_extra = 0.0
    p5_ids = [f"i-0{stable_id('p5', k, n=16)}" for k in range(2)]

    for d in window.days:
        period = month_key(d)
        r = rows.setdefault(period, _Rows())
        t0 = day_start(d)
        wk = weekday_factor(d)
        # -- 2x p5.48xlarge, 24/7 on-demand, hourly
        for k, iid in enumerate(p5_ids):
            for h in range(24):
                s = t0 + timedelta(hours=h)
                r.add(period=period, account=ACC_ML, start=s, end=s + timedelta(hours=1),
                      item_type="Usage", product_code="AmazonEC2",
                      usage_type="BoxUsage:p5.48xlarge", operation="RunInstances",
                      resource=iid, amount=1.0, rate=P5_RATE, cost=P5_RATE,
                      description=f"${P5_RATE} per On Demand Linux p5.48xlarge Instance Hour",
                      unit="Hrs", family="Compute Instance", tags=_tags("ml-research"),
                      az=f"{REGION}{'ab'[k]}", instance_type="p5.48xlarge",
                      instance_family="GPU instance",
                      product={"vcpu": "192", "memory": "2048 GiB", "gpu": "8",
                               "gpu_memory": "640 GB", "physical_processor": "AMD EPYC 7R13",
                               "operating_system": "Linux", "tenancy": "Shared"})
        # -- Bedrock tokens, hourly with a diurnal shape
        shape = diurnal(hours)
        shape = shape / shape.sum()
        for team, (acc, label, model_id, p_in, p_out, d_in, d_out) in BEDROCK.items():
            level = wk * rng.lognormal(0.0, 0.12)
            factor = SPIKE_FACTOR if (team == SPIKE_TEAM and d == SPIKE_DAY) else 1.0
            day_cost = 0.0
            for kind, daily, price in (("input", d_in, p_in), ("output", d_out, p_out)):
                per_h = np.round(daily * level * shape * rng.lognormal(0, 0.08, 24))
                for h in range(24):
                    s = t0 + timedelta(hours=h)
                    amount = float(per_h[h]) * factor
                    cost = amount * price / 1e6
                    day_cost += cost
                    if factor != 1.0:
                        spike_extra += cost - cost / factor
                    r.add(period=period, account=acc, start=s, end=s + timedelta(hours=1),
                          item_type="Usage", product_code="AmazonBedrock",
                          usage_type=f"USE1-{label}-{kind}-tokens",
                          operation="InvokeModelInference",
                          resource=f"arn:aws:bedrock:{REGION}::foundation-model/{model_id}",
                          amount=amount, rate=price / 1e6, cost=cost,
                          description=f"{label} {kind} tokens (${price:g} per 1M tokens)",
                          unit="tokens", family="Amazon Bedrock", tags=_tags(team),
                          product={"model": model_id, "inference_type": f"{kind} tokens",
                                   "usagetype": f"USE1-{label}-{kind}-tokens"})
            if team == SPIKE_TEAM:
                bedrock_daily[d] = day_cost
        # -- daily items (storage, transfer, monitoring)
        t1 = t0 + timedelta(days=1)
        for team, (acc, bucket, tb) in S3_BUCKETS.items():
            gbmo = tb * 1024 * (1 + 0.002 * (d - window.start).days) / 30.0  # slow growth
            r.add(period=period, account=acc, start=t0, end=t1, item_type="Usage",
                  product_code="AmazonS3", usage_type="TimedStorage-ByteHrs", operation="StandardStorage",
                  resource=bucket, amount=gbmo, rate=0.023, cost=gbmo * 0.023,
                  description="$0.023 per GB - first 50 TB / month of storage used",
                  unit="GB-Mo", family="Storage", tags=_tags(team),
                  product={"storage_class": "General Purpose", "volume_type": "Standard"})
            reqs = float(np.round(tb * 9000 * wk * rng.lognormal(0, 0.2)))
            r.add(period=period, account=acc, start=t0, end=t1, item_type="Usage",
                  product_code="AmazonS3", usage_type="Requests-Tier1", operation="PutObject",
                  resource=bucket, amount=reqs, rate=0.000005, cost=reqs * 0.000005,
                  description="$0.005 per 1,000 PUT, COPY, POST, or LIST requests",
                  unit="Requests", family="API Request", tags=_tags(team))
        for k, _iid in enumerate(p5_ids):
            gbmo = 8000 / 30.0
            r.add(period=period, account=ACC_ML, start=t0, end=t1, item_type="Usage",
                  product_code="AmazonEC2", usage_type="EBS:VolumeUsage.gp3",
                  operation="CreateVolume-Gp3", resource=f"vol-0{stable_id('ebs', k, n=16)}",
                  amount=gbmo, rate=0.08, cost=gbmo * 0.08,
                  description="$0.08 per GB-month of General Purpose (gp3) provisioned storage",
                  unit="GB-Mo", family="Storage", tags=_tags("ml-research"),
                  az=f"{REGION}{'ab'[k]}", product={"volume_api_name": "gp3"})
        gb_out = float(np.round(900 * wk * rng.lognormal(0, 0.15), 3))
        r.add(period=period, account=ACC_APPS, start=t0, end=t1, item_type="Usage",
              product_code="AmazonEC2", usage_type="DataTransfer-Out-Bytes",
              operation="RunInstances", resource="", amount=gb_out, rate=0.09,
              cost=gb_out * 0.09, description="$0.09 per GB - first 10 TB / month data transfer out",
              unit="GB", family="Data Transfer", product={"transfer_type": "AWS Outbound"})
        for acc, metrics, log_gb in ((ACC_ML, 1400, 30.0), (ACC_APPS, 2600, 85.0)):
            m = metrics / 30.0
            r.add(period=period, account=acc, start=t0, end=t1, item_type="Usage",
                  product_code="AmazonCloudWatch", usage_type="CW:MetricMonitorUsage",
                  operation="MetricStorage", resource="", amount=m, rate=0.30, cost=m * 0.30,
                  description="$0.30 per metric-month - first 10,000 metrics",
                  unit="Metrics", family="Metric")
            g = float(np.round(log_gb * wk * rng.lognormal(0, 0.1), 3))
            r.add(period=period, account=acc, start=t0, end=t1, item_type="Usage",
                  product_code="AmazonCloudWatch", usage_type="USE1-DataProcessing-Bytes",
                  operation="PutLogEvents", resource="", amount=g, rate=0.50, cost=g * 0.50,
                  description="$0.50 per GB - custom log data ingested", unit="GB",
                  family="Data Payload")

    tables: dict[str, pa.Table] = {}
    for period, r in rows.items():
        tbl = r.table()
        if period <= last_closed:
            tbl = _add_tax(tbl, period)
        tables[period] = tbl

    facts = {}
    if SPIKE_DAY in window:
        prior = [bedrock_daily[SPIKE_DAY - timedelta(days=i)] for i in range(1, 29)
                 if SPIKE_DAY - timedelta(days=i) in bedrock_daily]
        facts = {
            "spike_day_cost_usd": round(bedrock_daily[SPIKE_DAY], 2),
            "baseline_daily_cost_usd": round(float(np.median(prior)), 2) if prior else None,
            "extra_cost_usd": round(spike_extra, 2),
        }
    return tables, facts


def _invoice_id(period: str, account: str) -> str:
    return str(int(stable_id("invoice", period, account, n=10), 16) % 10**10).zfill(10)


def _add_tax(tbl: pa.Table, period: str) -> pa.Table:
    """Append one Tax line per usage account (closed periods only) and set the invoice id."""
    r = _Rows()
    p_start, p_end = month_bounds(period)
    accounts = tbl.column("line_item_usage_account_id").to_pylist()
    costs = tbl.column("line_item_unblended_cost").to_pylist()
    products = tbl.column("line_item_product_code").to_pylist()
    for acc in (ACC_ML, ACC_APPS):
        base = sum(c for a, c in zip(accounts, costs) if a == acc[0])
        top = max({p for a, p in zip(accounts, products) if a == acc[0]},
                  key=lambda p: sum(c for a, c, q in zip(accounts, costs, products)
                                    if a == acc[0] and q == p))
        r.add(period=period, account=acc, start=p_start, end=p_end, item_type="Tax",
              product_code=top, usage_type="", operation="", resource="", amount=0.0, rate=0.0,
              cost=round(base * TAX_RATE, 2), description=f"Tax for product code {top}",
              unit="", family="")
    out = pa.concat_tables([tbl, r.table()])
    inv = [_invoice_id(period, a) for a in out.column("line_item_usage_account_id").to_pylist()]
    return out.set_column(out.schema.get_field_index("bill_invoice_id"), "bill_invoice_id",
                          pa.array(inv, STR))


def restate(tbl: pa.Table, period: str) -> pa.Table:
    """The provider's restatement of a closed period.

    Two changes, as AWS does when it re-delivers a month: (1) corrected S3 storage usage of
    bucket `aispend-search-index` for the 14th-16th (metering under-reported; corrected usage
    is 1.8x), (2) an added Credit line (-$1,250.00, Bedrock promotional credit, apps-prod).
    The Tax line is left as invoiced.
    """
    y, m = (int(x) for x in period.split("-"))
    fix_days = {date(y, m, 14), date(y, m, 15), date(y, m, 16)}
    res = tbl.column("line_item_resource_id").to_pylist()
    utype = tbl.column("line_item_usage_type").to_pylist()
    starts = tbl.column("line_item_usage_start_date").to_pylist()
    mask = [r == "aispend-search-index" and u == "TimedStorage-ByteHrs" and s.date() in fix_days
            for r, u, s in zip(res, utype, starts)]
    cols = {}
    for name in ("line_item_usage_amount", "line_item_unblended_cost", "line_item_blended_cost",
                 "line_item_net_unblended_cost", "pricing_public_on_demand_cost"):
        vals = tbl.column(name).to_pylist()
        cols[name] = [v * 1.8 if hit else v for v, hit in zip(vals, mask)]
    for name, vals in cols.items():
        tbl = tbl.set_column(tbl.schema.get_field_index(name), name, pa.array(vals, F64))
    p_start, p_end = month_bounds(period)
    r = _Rows()
    r.add(period=period, account=ACC_APPS, start=p_start, end=p_end, item_type="Credit",
          product_code="AmazonBedrock", usage_type="", operation="", resource="", amount=0.0,
          rate=0.0, cost=-1250.0, description="AWS Credits: Generative AI promotional credit",
          unit="", family="", invoice_id=_invoice_id(period, ACC_APPS[0]))
    return pa.concat_tables([tbl, r.table()])


def total(tbl: pa.Table) -> float:
    return round(float(sum(tbl.column("line_item_unblended_cost").to_pylist())), 2)


def data_path(root: Path, period: str) -> Path:
    return root / "data" / f"BILLING_PERIOD={period}" / f"{EXPORT_NAME}-00001.snappy.parquet"


def manifest_path(root: Path, period: str) -> Path:
    return root / "metadata" / f"BILLING_PERIOD={period}" / f"{EXPORT_NAME}-Manifest.json"


def execution_id(period: str, revision: int) -> str:
    """Deterministic UUID-shaped execution id (one per delivery of a period)."""
    h = stable_id("execution", period, revision, n=32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def write_period(root: Path, period: str, tbl: pa.Table, *, revision: int = 0) -> None:
    """Write the data file, then the manifest (a reader keys on the manifest, so last)."""
    dp = data_path(root, period)
    dp.parent.mkdir(parents=True, exist_ok=True)
    tmp = dp.with_suffix(".tmp")
    pq.write_table(tbl, tmp, compression="snappy")
    tmp.replace(dp)
    start, end = month_bounds(period)
    key = f"{PREFIX}/{EXPORT_NAME}/data/BILLING_PERIOD={period}/{dp.name}"
    cols = ", ".join(f.name for f in SCHEMA)
    manifest = {
        "executionId": execution_id(period, revision),
        "exportArn": f"arn:aws:bcm-data-exports:us-east-1:{PAYER[0]}:export/"
                     f"{EXPORT_NAME}-{stable_id('arn', n=8)}",
        "exportName": EXPORT_NAME,
        "queryStatement": f"SELECT {cols} FROM COST_AND_USAGE_REPORT",
        "tableConfigurations": {"COST_AND_USAGE_REPORT": {
            "INCLUDE_MANUAL_DISCOUNT_COMPATIBILITY": "FALSE", "INCLUDE_RESOURCES": "TRUE",
            "INCLUDE_SPLIT_COST_ALLOCATION_DATA": "FALSE", "TIME_GRANULARITY": "HOURLY"}},
        "bucket": BUCKET,
        "prefix": PREFIX,
        "dataFiles": [f"s3://{BUCKET}/{key}"],
        "columns": [{"name": f.name, "type": _PARQUET_TYPE_NAMES[f.type]} for f in SCHEMA],
        "billingPeriod": {"start": start.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                          "end": end.strftime("%Y-%m-%dT%H:%M:%S.000Z")},
    }
    mp = manifest_path(root, period)
    mp.parent.mkdir(parents=True, exist_ok=True)
    tmp = mp.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(mp)


def read_manifest(root: Path, period: str) -> dict:
    return json.loads(manifest_path(root, period).read_text())


def read_period(root: Path, period: str) -> pa.Table:
    return pq.read_table(data_path(root, period))


__all__ = ["build", "restate", "write_period", "total", "EXPORT_NAME", "UTC"]
