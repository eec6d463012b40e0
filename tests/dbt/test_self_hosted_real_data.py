"""The Azure LLM inference trace (2023-11-16, one hour of real requests: code and conversation
services, `TIMESTAMP, ContextTokens, GeneratedTokens`) loaded by `aispend run` (conftest.real_run)
as a `self_hosted_requests` source with `format: azure_llm_trace` and constants for what it lacks
(model, host): every request lands in fct_llm_calls with its exact tokens. Expected figures are
counted from the CSV files here, independently of the connector (csv module, text slicing).

The trace has no GPU telemetry (no GPU UUIDs, no host of ours): its requests are unpriced
(price_source 'unpriced', null cost), one query each in fct_cost_per_query; they are not API
traffic, so repatriation's hourly API demand does not count them, and they share no GPU-hour.
"""
from __future__ import annotations

import csv
from collections import Counter

import pytest

from real_data import AZURE_LLM, AZURE_LLM_HOST, AZURE_LLM_MODEL

FILES = {"AzureLLMInferenceTrace_code": (8_819, 18_059_974, 245_896),
         "AzureLLMInferenceTrace_conv": (19_366, 22_361_870, 4_088_665)}


@pytest.fixture(scope="module")
def con(real_run):
    c = real_run.connect()
    yield c
    c.close()


def _trace(shared_data) -> dict[str, list[dict]]:
    out = {}
    for stem in FILES:
        with open(shared_data / AZURE_LLM / f"{stem}.csv", newline="") as fh:
            out[stem] = list(csv.DictReader(fh))
    return out


def test_every_request_lands_with_exact_tokens(con, shared_data):
    trace = _trace(shared_data)
    for stem, rows in trace.items():  # the issue's figures are the files'
        assert (len(rows), sum(int(r["ContextTokens"]) for r in rows),
                sum(int(r["GeneratedTokens"]) for r in rows)) == FILES[stem]
    got = con.execute(
        "select application, count(*), count(distinct call_id), sum(input_tokens), sum(output_tokens), "
        "min(model), min(provider), min(serving), min(status), max(status), "
        "count(*) filter (where ended_at = started_at) "
        "from fct_llm_calls where source_table = 'self_hosted_requests' group by all order by 1").fetchall()
    assert got == [(stem, n, n, i, o, AZURE_LLM_MODEL, "self_hosted", "self_hosted", "ok", "ok", n)
                   for stem, (n, i, o) in FILES.items()]
    assert con.execute("select count(*), sum(input_tokens), sum(output_tokens) from fct_llm_calls "
                       "where serving = 'self_hosted'").fetchone() == (28_185, 40_421_844, 4_334_561)
    assert con.execute("select count(*), min(host) from stg_self_hosted__requests "
                       "where host = ? and gpu_count = 0", [AZURE_LLM_HOST]).fetchone() == (28_185, AZURE_LLM_HOST)


def test_arrival_times_keep_their_hour_and_microseconds(con, shared_data):
    trace = _trace(shared_data)
    # text slicing, not datetime parsing: 'YYYY-MM-DD HH:MM:SS.fffffff' → hour, and the first 6 digits
    hours = Counter(r["TIMESTAMP"][:13] for rows in trace.values() for r in rows)
    assert hours == Counter({"2023-11-16 18": sum(hours.values()) - hours["2023-11-16 19"],
                             "2023-11-16 19": hours["2023-11-16 19"]})
    got = dict(con.execute("select strftime(date_trunc('hour', started_at), '%Y-%m-%d %H'), count(*) "
                           "from fct_llm_calls where serving = 'self_hosted' group by 1").fetchall())
    assert got == dict(hours)
    first = trace["AzureLLMInferenceTrace_code"][0]["TIMESTAMP"]
    assert first == "2023-11-16 18:17:03.9799600"
    assert con.execute("select strftime(started_at, '%Y-%m-%d %H:%M:%S.%f') from fct_llm_calls "
                       "where call_id = 'AzureLLMInferenceTrace_code.csv:1'").fetchone() == (first[:26],)
    assert con.execute("select min(started_at)::varchar, max(started_at)::varchar from fct_llm_calls "
                       "where serving = 'self_hosted'").fetchone() == (
        "2023-11-16 18:15:46.68059+00", "2023-11-16 19:14:19.928016+00")


def test_without_gpu_telemetry_the_trace_is_unpriced_queries(con):
    assert con.execute("select price_source, count(*), count(cost_usd) from fct_llm_calls "
                       "where serving = 'self_hosted' group by 1").fetchall() == [("unpriced", 28_185, 0)]
    assert con.execute("select count(*), sum(calls), count(cost_usd), sum(input_tokens), sum(output_tokens) "
                       "from fct_cost_per_query where serving = 'self_hosted'").fetchone() == (
        28_185, 28_185, 0, 40_421_844, 4_334_561)
    assert con.execute("select day::varchar, application, model, queries, priced_queries, unpriced_queries "
                       "from agg_cost_per_query_daily where model = ? order by application",
                       [AZURE_LLM_MODEL]).fetchall() == [
        ("2023-11-16", stem, AZURE_LLM_MODEL, n, 0, n) for stem, (n, _, _) in FILES.items()]
    # not API traffic: no repatriation workload; no GPU-hour for them to share
    assert con.execute("select count(*) from fct_repatriation_candidates where model = ?",
                       [AZURE_LLM_MODEL]).fetchone() == (0,)
    assert con.execute("select count(*) from fct_gpu_cost_allocation where application like 'AzureLLM%'"
                       ).fetchone() == (0,)
