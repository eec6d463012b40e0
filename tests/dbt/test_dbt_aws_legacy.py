"""The real legacy CUR export loaded by `aispend run` (conftest.real_run) as an `aws_cur_legacy`
source: staging and the FOCUS mapping serve legacy CUR as they serve CUR 2.0, into focus_costs of
the published warehouse."""
from __future__ import annotations

import csv
from decimal import Decimal

from real_data import LEGACY_CUR


def test_legacy_cur_reaches_focus_costs(real_run, shared_data):
    with (shared_data / LEGACY_CUR).open(newline="") as f:
        rows = list(csv.DictReader(f))
    expected = sum(Decimal(r["lineItem/UnblendedCost"]) for r in rows)
    con = real_run.connect()
    try:
        n, billed, tax = con.execute(
            "select count(*), sum(BilledCost), count(*) filter (where ChargeCategory = 'Tax') "
            "from focus_costs where x_source = 'aws_cur'").fetchone()
    finally:
        con.close()
    assert (n, tax) == (1281, 12)
    assert Decimal(str(billed)) == expected
