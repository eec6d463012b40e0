"""Plausible ranges on the usage sources (issue 14, item 1), through `aispend run` as a user runs it.

Every cost / token column of the LLM API, gateway, request-log and agent-run sources has a per-source
bound (options max_abs_cost / max_abs_quantity, connectors.plausible.USAGE), GPU samples have
physical bounds (utilisation 0..100 %, power 0..max_power_w); a value outside stops the load with
one line naming source, file (or API page) and the record, and nothing is published. Also (issue 14,
duplicate identities): a CUR line item in two data files of one manifest is refused at ingest.
"""

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from test_run_numbers import _run


def _rejected(tmp_path: Path, capsys, monkeypatch, source: str, step: str, problem: str) -> None:
    """`aispend run` of 2026-10-01 failed in the daily ingest with one line naming the problem; nothing published."""
    rc, _, err, home = _run(tmp_path, capsys, monkeypatch, source)
    (log,) = (home / "logs").glob("run-*.log")
    assert (rc, err) == (1, "\ndaily ingest 2026-10-01..2026-10-02 + dbt build + publish failed; nothing was "
                            f"published and the previous warehouse is unchanged.\n  step {step}: {problem}\n"
                            f"  full log: {log}\n"), err
    assert not (home / "warehouse" / "aispend.duckdb").exists()


# --- file sources ---------------------------------------------------------------------------------
def _spend(i: int, spend: float = 0.001, prompt: int = 100) -> dict:
    return {"request_id": f"r{i}", "call_type": "acompletion", "spend": spend, "prompt_tokens": prompt,
            "completion_tokens": 10, "total_tokens": prompt + 10, "startTime": f"2026-10-01 0{i}:00:00",
            "endTime": f"2026-10-01 0{i}:00:01", "model": "gpt-4o", "custom_llm_provider": "openai",
            "session_id": "s1", "status": "success", "metadata": {}}


@pytest.mark.faults("rejected")
def test_litellm_spend_and_tokens_beyond_the_plausible_range_stop_the_run(tmp_path, capsys, monkeypatch):
    f = tmp_path / "gw" / "spend.jsonl"
    f.parent.mkdir()
    f.write_text("".join(json.dumps(r) + "\n" for r in [_spend(0), _spend(1, spend=2e9), _spend(2)]))
    _rejected(tmp_path, capsys, monkeypatch, f"{{name: gw, type: litellm_logs, uri: {f.parent}}}",
              "raw__litellm_spend_logs",
              "litellm_spend_logs: source 'gw' (litellm_logs): nothing written, previous data kept: "
              f"litellm_logs: {f}: record request_id=r1, column spend: 2e+09 is outside the plausible range "
              "±1e+09 (source option max_abs_cost)")
    f.write_text("".join(json.dumps(r) + "\n" for r in [_spend(0), _spend(1), _spend(2, prompt=3 * 10**12)]))
    _rejected(tmp_path / "t", capsys, monkeypatch, f"{{name: gw, type: litellm_logs, uri: {f.parent}}}",
              "raw__litellm_spend_logs",
              "litellm_spend_logs: source 'gw' (litellm_logs): nothing written, previous data kept: "
              f"litellm_logs: {f}: record request_id=r2, column prompt_tokens: 3000000000000 is outside the "
              "plausible range ±1e+12 (source option max_abs_quantity)")


@pytest.mark.faults("rejected")
def test_self_hosted_tokens_beyond_the_sources_own_bound_stop_the_run(tmp_path, capsys, monkeypatch):
    """The option tightens the default (1e12) to what this server can hold: a 200k-token prompt on a 128k model."""
    f = tmp_path / "srv" / "requests.jsonl"
    f.parent.mkdir()
    f.write_text("".join(json.dumps({"request_id": f"q{i}", "model": "llama", "host": "h1", "gpus": ["GPU-0"],
                                     "arrival_time": 1790812800 + i, "finished_time": 1790812801 + i,
                                     "prompt_tokens": p, "completion_tokens": 5, "status": "ok"}) + "\n"
                         for i, p in enumerate([1000, 200_000])))
    _rejected(tmp_path, capsys, monkeypatch,
              f"{{name: srv, type: self_hosted_requests, uri: {f.parent}, max_abs_quantity: 131072}}",
              "raw__self_hosted_requests",
              f"self_hosted_requests: source 'srv' (self_hosted_requests): nothing written, previous data kept: "
              f"self_hosted_requests: {f}: record request_id=q1, column prompt_tokens: 200000 is outside the plausible "
              "range ±1e+05 (source option max_abs_quantity)")


@pytest.mark.faults("rejected")
def test_agent_run_recorded_cost_beyond_the_plausible_range_stops_the_run(tmp_path, capsys, monkeypatch):
    f = tmp_path / "runs" / "a.traj"
    f.parent.mkdir()
    f.write_text(json.dumps({"trajectory": [{"action": "submit"}], "info": {
        "exit_status": "submitted",
        "model_stats": {"api_calls": 1, "tokens_sent": 900, "tokens_received": 40, "instance_cost": 1e300}}}))
    _rejected(tmp_path, capsys, monkeypatch,
              f"{{name: swe, type: agent_trajectories, uri: {f.parent}, model: gpt-4o, started_at: '2026-10-01'}}",
              "raw_agent_llm_calls_snapshot",
              f"agent_llm_calls: source 'swe' (agent_trajectories): nothing written, previous data kept: "
              f"agent_trajectories: {f}: record run_id=a, column recorded_cost_usd: 1e+300 is outside the plausible "
              "range ±1e+09 (source option max_abs_cost)")


# --- GPU telemetry: physical bounds -------------------------------------------------------------
@pytest.mark.faults("rejected")
def test_gpu_utilisation_above_100_percent_stops_the_run(tmp_path, capsys, monkeypatch):
    d = tmp_path / "collector" / "node-a" / "2026-10-01"
    d.mkdir(parents=True)
    lines = [{"record": "meta", "format_version": 1}] + [
        {"record": "gpu", "ts": f"2026-10-01T04:00:{10 * s:02d}Z", "host": "node-a", "gpu_uuid": "GPU-a0",
         "gpu_index": 0, "util_gpu_pct": u, "power_w": 100.0, "energy_mj": 1000 * s}
        for s, u in ((1, 10.0), (2, 250.0), (3, 10.0))]
    f = d / "node-a-20261001T04.jsonl.gz"
    f.write_bytes(gzip.compress("\n".join(map(json.dumps, lines)).encode()))
    _rejected(tmp_path, capsys, monkeypatch, f"{{name: nvml, type: gpu_telemetry, uri: {tmp_path / 'collector'}}}",
              "raw__gpu_samples",
              f"gpu_samples: source 'nvml' (gpu_telemetry): nothing written, previous data kept: gpu_telemetry: {f}: "
              "record host=node-a, gpu_uuid=GPU-a0, ts=2026-10-01T04:00:20+00:00, column util_gpu_pct: 250 is "
              "outside the plausible range 0..100")


@pytest.mark.faults("rejected")
def test_dcgm_power_beyond_the_sources_max_power_stops_the_run(tmp_path, capsys, monkeypatch):
    """DCGM_FI_DEV_POWER_USAGE is W; 1,200 W passes the default (5 kW) but not this fleet's max_power_w: 800."""
    d = tmp_path / "dcgm" / "dgx-01"
    d.mkdir(parents=True)
    lab = 'gpu="0",UUID="GPU-d0",modelName="NVIDIA H100 80GB HBM3",Hostname="dgx-01"'
    for sec, watts in ((0, 700), (10, 1200)):
        (d / f"dcgm-20261001T0500{sec:02d}Z.prom").write_text(
            f"DCGM_FI_DEV_GPU_UTIL{{{lab}}} 50\nDCGM_FI_DEV_POWER_USAGE{{{lab}}} {watts}\n")
    _rejected(tmp_path, capsys, monkeypatch,
              f"{{name: dcgm, type: dcgm_metrics, uri: {tmp_path / 'dcgm'}, max_power_w: 800}}",
              "raw__gpu_samples",
              f"gpu_samples: source 'dcgm' (dcgm_metrics): nothing written, previous data kept: dcgm_metrics: "
              f"{d / 'dcgm-20261001T050010Z.prom'}: record host=dgx-01, gpu_uuid=GPU-d0, ts=2026-10-01T05:00:10+00:00, "
              "column power_w: 1200 is outside the plausible range 0..800 (source option max_power_w)")


# --- LLM admin APIs through a loopback peer: a record is its page URL + bucket ------------------
class _Api(BaseHTTPRequestHandler):
    """Every completions / messages usage and cost page is one daily bucket at the requested start, the cost
    result's amount is `amount`; other usage endpoints are empty."""

    amount = None

    def do_GET(self):
        from urllib.parse import parse_qs, urlparse

        u = urlparse(self.path)
        q = parse_qs(u.query)
        if u.path == "/v1/organization/costs":  # OpenAI: unix seconds
            s = int(q["start_time"][0])
            data = [{"start_time": s, "end_time": s + 86400, "results": [
                {"project_id": "p1", "line_item": "gpt-4o, input",
                 "amount": {"value": self.amount, "currency": "usd"}}]}]
        elif u.path == "/v1/organizations/cost_report":  # Anthropic: RFC 3339, cents as decimal text
            data = [{"starting_at": q["starting_at"][0], "ending_at": q["ending_at"][0], "results": [
                {"workspace_id": "w1", "description": "Claude Sonnet 4 Usage - Input Tokens", "currency": "USD",
                 "amount": self.amount}]}]
        elif u.path == "/v1/organization/usage/completions":
            s = int(q["start_time"][0])
            data = [{"start_time": s, "end_time": s + 86400, "results": [
                {"model": "gpt-4o", "input_tokens": 10, "output_tokens": 5, "num_model_requests": 1}]}]
        elif u.path == "/v1/organizations/usage_report/messages":
            data = [{"starting_at": q["starting_at"][0], "ending_at": q["ending_at"][0], "results": [
                {"model": "claude-sonnet-4", "uncached_input_tokens": 10, "output_tokens": 5}]}]
        else:
            data = []
        body = json.dumps({"data": data, "has_more": False, "next_page": None}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


@pytest.fixture()
def api(monkeypatch):
    monkeypatch.setenv("AISPEND_TEST_KEY", "sk-admin-test-value")
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Api", (_Api,), {}))  # its own `amount`
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.faults("rejected")
def test_openai_cost_beyond_the_plausible_range_stops_the_run_naming_page_and_bucket(tmp_path, capsys, monkeypatch,
                                                                                    api):
    api.RequestHandlerClass.amount = 3.5e9
    url = f"http://127.0.0.1:{api.server_address[1]}"
    _rejected(tmp_path, capsys, monkeypatch,
              f"{{name: oa, type: openai, uri: '{url}', admin_key_env: AISPEND_TEST_KEY}}",
              "raw__openai",
              f"openai_costs: source 'oa' (openai): nothing written, previous data kept: openai: {url}/v1/organization/"
              "costs?start_time=1790812800&end_time=1790985600&bucket_width=1d&limit=180&group_by=project_id&group_by="
              "line_item: record start_time=2026-10-01T00:00:00+00:00, column amount_value: 3.5e+09 is outside the "
              "plausible range ±1e+09 (source option max_abs_cost)")


@pytest.mark.faults("rejected")
def test_anthropic_cost_in_cents_beyond_the_plausible_range_stops_the_run(tmp_path, capsys, monkeypatch, api):
    """`amount` is cents as text: 150,000,000,000 cents is 1.5e9 USD, beyond the default 1e9 (1e11 cents)."""
    api.RequestHandlerClass.amount = "150000000000.0"
    url = f"http://127.0.0.1:{api.server_address[1]}"
    _rejected(tmp_path, capsys, monkeypatch, f"{{name: an, type: anthropic, uri: '{url}', admin_key_env: "
                                             "AISPEND_TEST_KEY, claude_code: false}",
              "raw__anthropic",
              f"anthropic_costs: source 'an' (anthropic): nothing written, previous data kept: anthropic: {url}/v1/"
              "organizations/cost_report?starting_at=2026-10-01T00%3A00%3A00Z&ending_at=2026-10-03T00%3A00%3A00Z&"
              "bucket_width=1d&group_by%5B%5D=workspace_id&group_by%5B%5D=description: record starting_at="
              "2026-10-01T00:00:00+00:00, description=Claude Sonnet 4 Usage - Input Tokens, column amount: "
              "150000000000.0 is outside the plausible range ±1e+11 (max_abs_cost × 100: the column is in 1/100)")


# --- CUR: one line item delivered by two data files of a manifest --------------------------------
@pytest.mark.faults("rejected")
def test_cur_line_item_in_two_data_files_of_a_period_stops_the_run_naming_both(tmp_path, capsys, monkeypatch):
    """The Parquet part re-delivered as CSV beside it (other bytes, same lines): refused at ingest
    naming both files and a key, instead of a dbt uniqueness failure on focus_costs.x_line_id."""
    from test_run_numbers import CUR_SOURCE, _cur_period

    f = _cur_period(tmp_path / "exports" / "cur", [("Usage", 1.0, 2.0), ("Usage", 3.0, 4.0)])
    csv = f.with_name("cur-00002.csv")
    csv.write_text("identity_line_item_id,line_item_line_item_type,line_item_usage_start_date,"
                   "line_item_usage_account_id,line_item_product_code,line_item_unblended_cost,line_item_usage_amount,"
                   "line_item_currency_code\nli-9,Usage,2026-10-02T00:00:00Z,111122223333,AmazonEC2,5.0,1.0,USD\n"
                   "li-1,Usage,2026-10-02T00:00:00Z,111122223333,AmazonEC2,3.0,4.0,USD\n")
    manifest = tmp_path / "exports" / "cur" / "metadata" / "BILLING_PERIOD=2026-10" / "cur-Manifest.json"
    m = json.loads(manifest.read_text())
    m["dataFiles"].append(m["dataFiles"][0].replace(f.name, csv.name))
    manifest.write_text(json.dumps(m))
    rc, _, err, home = _run(tmp_path, capsys, monkeypatch, CUR_SOURCE.format(tmp_path))
    assert rc == 1
    assert ("step raw__aws_cur: aws_cur: source 'payer' (aws_cur): nothing written, previous data kept: aws_cur: "
            f"{csv}: line identity_line_item_id=li-1, line_item_usage_start_date=2026-10-02 00:00:00+00:00, "
            f"line_item_line_item_type=Usage is also in {f} (both listed by {manifest}): the same line item "
            "delivered twice under other bytes; nothing of the period loaded\n") in err, err
    assert not (home / "warehouse" / "aispend.duckdb").exists()
