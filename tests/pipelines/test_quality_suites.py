"""The Great Expectations suites: each failing expectation is named with the file holding the bad rows."""

from datetime import datetime, timezone

import pyarrow as pa
import pytest

from pipelines.quality.ge import load_suites, slim, validate

UTC = timezone.utc
TS = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema([("start_time", TS), ("end_time", TS), ("project_id", pa.string()), ("model", pa.string()),
                    ("input_tokens", pa.int64()), ("output_tokens", pa.int64()), ("input_cached_tokens", pa.int64()),
                    ("num_model_requests", pa.int64()), ("_source_uri", pa.string())])


# These tests exercise the suite machinery on a small usage-like table, with the suite shape
# openai_usage had before it covered every Usage API endpoint (the real suite's own cases are in
# tests/connectors/test_llm_admin_apis.py).
EXAMPLE_SUITE = {"window": "start_time", "not_null": ["start_time", "model"],
                 "ranges": {c: {"min": 0} for c in ("input_tokens", "output_tokens", "input_cached_tokens",
                                                    "num_model_requests")}}


@pytest.fixture(autouse=True)
def example_suite(monkeypatch):
    suites = {**load_suites(), "openai_usage": EXAMPLE_SUITE}
    monkeypatch.setattr("pipelines.quality.ge.load_suites", lambda: suites)


def table(rows, partitions):
    cols = {f.name: pa.array([r[i] for r in rows], f.type) for i, f in enumerate(SCHEMA)}
    t = pa.table(cols, schema=SCHEMA)
    return t.append_column("_partition", pa.array(partitions, pa.string()))


def d(day, hour=0):
    return datetime(2026, 9, day, hour, tzinfo=UTC)


def test_clean_load_passes():
    t = table([(d(1), d(2), "p", "gpt-4o", 10, 5, 2, 1, "page1"), (d(2, 3), d(3), "p", "gpt-4o", 0, 0, 0, 0, "page2")],
              ["2026-09-01", "2026-09-02"])
    out = validate("openai_usage", t, SCHEMA)
    assert out.success, out.failures
    # columns + 8 types + 2 not-null + 4 ranges + 2 window
    assert out.expectations == 1 + 8 + 2 + 4 + 2


def test_each_failure_names_expectation_and_file():
    t = table([(d(1), d(2), "p", "gpt-4o", 10, 5, 2, 1, "https://api/page1"),
               (d(2), d(3), "p", None, -3, 5, 2, 1, "https://api/page2"),
               (d(5), d(6), "p", "gpt-4o", 1, 1, 0, 1, "https://api/page3")],
              ["2026-09-01", "2026-09-02", "2026-09-02"])
    out = validate("openai_usage", t, SCHEMA)
    assert not out.success
    text = "\n".join(out.failures)
    assert "'model not null' failed on 1 of 3 rows (e.g. in https://api/page2)" in text
    assert "'input_tokens within [0, None]' failed on 1 of 3 rows (e.g. in https://api/page2)" in text
    assert "'start_time before its partition's end' failed on 1 of 3 rows (e.g. in https://api/page3)" in text
    assert len(out.failures) == 3


def test_missing_and_extra_columns_fail():
    t = table([(d(1), d(2), "p", "m", 1, 1, 0, 1, "f")], ["2026-09-01"]).drop_columns(["output_tokens"])
    t = t.append_column("surprise", pa.array([1]))
    out = validate("openai_usage", t, SCHEMA)
    assert not out.success
    assert any("columns exactly" in f for f in out.failures)


def test_every_raw_table_has_a_suite():
    assert set(load_suites()) == {"aws_cur", "gcp_billing", "openai_usage", "openai_costs", "anthropic_usage",
                                  "anthropic_costs", "anthropic_claude_code", "otel_spans", "gpu_samples",
                                  "self_hosted_requests", "llm_prices", "llm_price_lines", "llm_price_matches",
                                  "focus_lines", "gcp_catalog_skus",
                                  "litellm_spend_logs", "agent_llm_calls"}


def test_large_load_is_validated_in_slices_with_counts_and_files_across_them(monkeypatch):
    # Slices of 2 rows: the bad rows sit in the 2nd and 3rd slices; counts add up over slices and
    # the file named is the one holding a bad row, not one of the first slice.
    monkeypatch.setattr("pipelines.quality.ge.CHUNK_ROWS", 2)
    good = (d(1), d(2), "p", "gpt-4o", 10, 5, 2, 1, "page-good")
    rows = [good, good, (d(1), d(2), "p", None, 1, 1, 0, 1, "page-bad-3"), good,
            (d(1), d(2), "p", None, -1, 1, 0, 1, "page-bad-5")]
    out = validate("openai_usage", table(rows, ["2026-09-01"] * 5), SCHEMA)
    assert not out.success
    text = "\n".join(out.failures)
    assert "'model not null' failed on 2 of 5 rows (e.g. in page-bad-3, page-bad-5)" in text
    assert "'input_tokens within [0, None]' failed on 1 of 5 rows (e.g. in page-bad-5)" in text
    assert len(out.failures) == 2


def test_slimmed_batches_validate_like_the_whole_rows():
    # An ingest slims each batch as it streams by (only the columns row checks read) and validates
    # many together, with a few whole rows for the column-level checks: same outcome, same files.
    rows = [(d(1), d(2), "p", "gpt-4o", 10, 5, 2, 1, "https://api/page1"),
            (d(2), d(3), "p", None, -3, 5, 2, 1, "https://api/page2"),
            (d(5), d(6), "p", "gpt-4o", 1, 1, 0, 1, "https://api/page3")]
    whole = table(rows, ["2026-09-01", "2026-09-02", "2026-09-02"])
    batches = [slim("openai_usage", whole.slice(0, 2)), slim("openai_usage", whole.slice(2))]
    assert batches[0].column_names == ["start_time", "model", "input_tokens", "output_tokens", "input_cached_tokens",
                                       "num_model_requests", "_partition", "_source_uri"]
    assert batches[0].column("model").type == pa.int8()  # only null-checked: a null mask stands in
    assert slim("openai_usage", batches[0]).equals(batches[0])  # idempotent
    out = validate("openai_usage", pa.concat_tables(batches), SCHEMA, sample=whole.slice(0, 1))
    assert out.failures == validate("openai_usage", whole, SCHEMA).failures
    assert "'model not null' failed on 1 of 3 rows (e.g. in https://api/page2)" in out.failures[0]
    assert len(out.failures) == 3


# Nested columns: a list<int64> and a struct, as the agent_llm_calls contract declares lists.
NESTED = pa.schema([*SCHEMA, ("sizes", pa.list_(pa.int64())), ("usage", pa.struct([("input", pa.int64()),
                                                                                    ("model", pa.string())]))])
SIZES_TYPE, USAGE_TYPE = NESTED.field("sizes").type, NESTED.field("usage").type


def nested_table(sizes, usage, sizes_type=SIZES_TYPE, usage_type=USAGE_TYPE):
    rows = [(d(1), d(2), "p", "gpt-4o", 10, 5, 2, 1, "file-a"), (d(1), d(2), "p", "gpt-4o", 1, 1, 0, 1, "file-b")]
    base = table(rows, ["2026-09-01"] * 2)
    return (base.add_column(base.num_columns - 1, "sizes", pa.array(sizes, sizes_type))
            .add_column(base.num_columns, "usage", pa.array(usage, usage_type)))


GOOD_USAGE = [{"input": 10, "model": "m"}, None]


def test_list_and_struct_columns_pass_with_their_element_types():
    """Arrow lists reach GE as Python lists and structs as dicts (pandas would give numpy arrays,
    which failed every 'type of' check: the real tau-bench transcripts could not load)."""
    t = nested_table([[1, 2, None], None], GOOD_USAGE)
    out = validate("openai_usage", t, NESTED)
    assert out.success, out.failures
    # columns + 10 types + (nested paths exactly + sizes[] + usage.input + usage.model) + 2 + 4 + 2
    assert out.expectations == 1 + 10 + 4 + 2 + 4 + 2


@pytest.mark.parametrize("sizes, sizes_type, usage, usage_type, expected", [
    # elements of the wrong type: the list itself is fine, its values are not
    ([["1"], ["2"]], pa.list_(pa.string()), GOOD_USAGE, None,
     ["expectation 'type of sizes[]' failed on 2 nested value(s) in 2 sampled rows (e.g. in file-a, file-b)"]),
    # a plain string column where a list is declared
    (["1", "2"], pa.string(), GOOD_USAGE, None,
     ["expectation 'type of sizes' failed on 2 of 2 sampled rows (e.g. in file-a, file-b)",
      "expectation 'nested values exactly 3 declared' failed (observed ['usage.input', 'usage.model']) "
      "(e.g. in file-a, file-b)"]),
    # a list nested one level too deep
    ([[[1]], [[2]]], pa.list_(pa.list_(pa.int64())), GOOD_USAGE, None,
     ["expectation 'type of sizes[]' failed on 2 nested value(s) in 2 sampled rows (e.g. in file-a, file-b)"]),
    # a struct field of the wrong type, and one missing (an undeclared one in its place)
    ([[1], [2]], None, [{"input": "10", "model": "m"}, None],
     pa.struct([("input", pa.string()), ("model", pa.string())]),
     ["expectation 'type of usage.input' failed on 1 nested value(s) in 2 sampled rows (e.g. in file-a, file-b)"]),
    ([[1], [2]], None, [{"input": 10, "name": "m"}, None], pa.struct([("input", pa.int64()), ("name", pa.string())]),
     ["expectation 'nested values exactly 3 declared' failed (observed ['sizes[]', 'usage.input', 'usage.name']) "
      "(e.g. in file-a, file-b)"]),
    # a map where a struct is declared: both are dicts in pandas, the paths tell them apart
    ([[1], [2]], None, [[("input", 10)], None], pa.map_(pa.string(), pa.int64()),
     ["expectation 'nested values exactly 3 declared' failed (observed ['sizes[]']) (e.g. in file-a, file-b)"]),
])
def test_wrong_nested_types_fail_naming_the_path(sizes, sizes_type, usage, usage_type, expected):
    t = nested_table(sizes, usage, sizes_type or pa.list_(pa.int64()), usage_type or NESTED.field("usage").type)
    out = validate("openai_usage", t, NESTED)
    assert out.failures == expected


def test_a_mistyped_column_in_the_ingest_first_check_names_the_sample_files():
    """The ingest asset checks a new column layout on a sample before writing anything
    (`validate(slim(empty), sample=…)`); a type failure used to crash there with ArrowIndexError
    (the failing row index looked up in the empty table) instead of naming the files."""
    rows = [(d(1), d(2), "p", "gpt-4o", 10, 5, 2, 1, "https://api/page1")]
    whole = table(rows, ["2026-09-01"])
    whole = whole.set_column(1, "end_time", pa.array(["2026-09-02"]))  # text where a timestamp is declared
    out = validate("openai_usage", slim("openai_usage", whole.slice(0, 0)), SCHEMA, sample=whole)
    assert out.failures == ["expectation 'type of end_time' failed on 1 of 1 sampled rows (e.g. in https://api/page1)"]
