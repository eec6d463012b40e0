"""How focus-check judges the validator's per-rule results against the validator's rule model."""
from __future__ import annotations

import pytest

from pipelines import focus_check


def _rule(keyword: str, children: tuple[str, ...] = (), fn: str = "AND") -> dict:
    req = ({"CheckFunction": fn, "Items": [{"CheckFunction": "CheckModelRule", "ModelRuleId": c} for c in children]}
           if children else {"CheckFunction": "CheckValue", "ColumnName": "X", "Value": None})
    return {"ValidationCriteria": {"Keyword": keyword, "Requirement": req}}


RULES = {
    "Data-D-000-M": _rule("MUST", ("Cost-C-000-M", "Inv-C-000-O", "Unit-C-000-M", "Or-C-000-M")),
    "Cost-C-000-M": _rule("MUST", ("Cost-C-001-M",)),
    "Cost-C-001-M": _rule("MUST"),
    "Inv-C-000-O": _rule("SHOULD", ("Inv-C-001-C",)),
    "Inv-C-001-C": _rule("MUST"),
    "Unit-C-000-M": _rule("MUST", ("Unit-C-001-O",)),
    "Unit-C-001-O": _rule("SHOULD"),
    "Or-C-000-M": _rule("MUST", ("Or-C-001-C", "Or-C-002-C"), fn="OR"),
    "Or-C-001-C": _rule("MUST"),
    "Or-C-002-C": _rule("MUST NOT"),
}


def test_a_failed_must_leaf_is_mandatory_and_so_are_its_and_parents():
    status = {"Cost-C-001-M": "FAIL", "Cost-C-000-M": "FAIL", "Data-D-000-M": "FAIL"}
    hard, soft, derived = focus_check.classify(status, RULES)
    assert hard == ["Cost-C-000-M", "Cost-C-001-M", "Data-D-000-M"]
    assert soft == [] and derived == {"Cost-C-000-M", "Data-D-000-M"}


def test_should_failures_and_musts_under_a_should_column_are_not_mandatory():
    status = {"Unit-C-001-O": "FAIL", "Unit-C-000-M": "FAIL", "Inv-C-001-C": "FAIL", "Inv-C-000-O": "FAIL",
              "Data-D-000-M": "FAIL", "Cost-C-001-M": "PASS"}
    hard, soft, _ = focus_check.classify(status, RULES)
    assert hard == []
    assert soft == ["Data-D-000-M", "Inv-C-000-O", "Inv-C-001-C", "Unit-C-000-M", "Unit-C-001-O"]


def test_a_failed_must_or_is_mandatory_itself():
    status = {"Or-C-001-C": "FAIL", "Or-C-002-C": "FAIL", "Or-C-000-M": "FAIL", "Data-D-000-M": "FAIL"}
    hard, _, _ = focus_check.classify(status, RULES)
    assert "Or-C-000-M" in hard and "Data-D-000-M" in hard


def test_known_rule_model_defects_do_not_gate():
    rules = {"CommitmentDiscountStatus-C-000-C": _rule("MUST", ("CommitmentDiscountStatus-C-004-C",)),
             "CommitmentDiscountStatus-C-004-C": _rule("MUST NOT")}
    status = {"CommitmentDiscountStatus-C-004-C": "FAIL", "CommitmentDiscountStatus-C-000-C": "FAIL"}
    hard, soft, _ = focus_check.classify(status, rules)
    assert hard == [] and soft == ["CommitmentDiscountStatus-C-000-C", "CommitmentDiscountStatus-C-004-C"]


def test_no_python_312_gives_a_clear_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(focus_check, "find_python", lambda: None)
    with pytest.raises(focus_check.ValidatorUnavailable, match="needs Python >= 3.12"):
        focus_check.ensure_validator(tmp_path / "venv")
    assert not (tmp_path / "venv").exists()


def test_missing_warehouse_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no warehouse at"):
        focus_check.export_focus_costs(tmp_path / "nope.duckdb", tmp_path / "out.parquet")


def test_cli_without_a_warehouse_exits_2_naming_it(tmp_path, capsys):
    from pipelines.cli import main

    assert main(["focus-check", "--warehouse", str(tmp_path / "nope.duckdb"), "--out", str(tmp_path)]) == 2
    assert "no warehouse at" in capsys.readouterr().err
