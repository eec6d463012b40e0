"""The digest text is the alert contract: one markdown row per anomaly, impact as a signed percent."""

from datetime import date
from decimal import Decimal

from pipelines.alerts import format_digest


def test_digest_rows():
    text = format_digest([(date(2026, 11, 12), "team_service", "ml-research / Amazon Bedrock", Decimal("807.23"),
                           Decimal("94.37"), Decimal("712.86"), 7.5538, 29.81, "resource Llama3-1-70B +$721.10")])
    assert ("| 2026-11-12 | team_service | ml-research / Amazon Bedrock | 807.23 | 94.37 | 712.86 | +755% | 29.8 | "
            "resource Llama3-1-70B +$721.10 |") in text.splitlines()


def test_empty_digest_says_so():
    assert "No anomalies flagged last week." in format_digest([])
