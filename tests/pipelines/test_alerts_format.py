"""The digest text is the alert contract: the week it covers, how fresh the data is, one markdown row
per anomaly (impact as a signed percent), and 'nothing unusual' when that is the truth."""

from datetime import date
from decimal import Decimal

from pipelines.alerts import Digest, format_digest

ROW = (date(2026, 11, 12), "team_service", "ml-research / Amazon Bedrock", Decimal("807.23"), Decimal("94.37"),
       Decimal("712.86"), 7.5538, 29.81, "resource Llama3-1-70B +$721.10")
FRESH = {"cloud_bill": date(2026, 11, 15), "llm_api": date(2026, 11, 15), "onprem_gpu": date(2026, 11, 15)}


def test_digest_rows_under_the_stated_week():
    d = Digest(date(2026, 11, 9), date(2026, 11, 15), [ROW], date(2026, 11, 15), FRESH)
    lines = format_digest(d, today=date(2026, 11, 16)).splitlines()
    assert lines[2] == ("Week 2026-11-09 to 2026-11-15. Data through 2026-11-15 (cloud_bill 2026-11-15, "
                        "llm_api 2026-11-15, onprem_gpu 2026-11-15); generated 2026-11-16.")
    assert ("| 2026-11-12 | team_service | ml-research / Amazon Bedrock | 807.23 | 94.37 | 712.86 | +755% | 29.8 | "
            "resource Llama3-1-70B +$721.10 |") in lines
    assert not any(line.startswith("WARNING") for line in lines)


def test_a_quiet_week_says_nothing_unusual_and_names_the_last_anomaly():
    d = Digest(date(2026, 11, 9), date(2026, 11, 15), [], date(2026, 11, 15), FRESH, date(2026, 10, 12))
    text = format_digest(d, today=date(2026, 11, 16))
    assert ("Nothing unusual: no cost anomaly was flagged from 2026-11-09 to 2026-11-15 "
            "(the last one was on 2026-10-12).") in text
    assert "|" not in text


def test_stale_and_lagging_data_are_warned_about():
    fresh = {**FRESH, "onprem_gpu": date(2026, 11, 5)}
    d = Digest(date(2026, 11, 9), date(2026, 11, 15), [], date(2026, 11, 15), fresh)
    text = format_digest(d, today=date(2026, 12, 7))
    assert ("WARNING: the newest cost data is 22 days old (2026-11-15); spend since then is not in this digest. "
            "Check that the scheduled runs are ingesting.") in text
    assert "WARNING: some spend lags the rest: onprem_gpu through 2026-11-05." in text


def test_an_empty_warehouse_has_no_week():
    assert "No cost data in the warehouse yet: nothing to report." in format_digest(Digest(None, None, []))
