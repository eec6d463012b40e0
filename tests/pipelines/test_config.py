"""aispend.yaml validation: errors name the file and the key; secrets only through env vars;
every source type's options come from the registry beside the ingest specs."""

import re
from pathlib import Path

import pytest

from pipelines.config import ConfigError, load_config
from pipelines.ingest import ALL_SPECS, SOURCE_TYPES
from pipelines.options import markdown_table

README = Path(__file__).resolve().parents[2] / "README.md"


def write(tmp_path, text):
    p = tmp_path / "aispend.yaml"
    p.write_text(text)
    return p


def test_valid_config_with_env_expansion(tmp_path, monkeypatch):
    monkeypatch.setenv("EMU", "http://127.0.0.1:9")
    monkeypatch.setenv("AISPEND_HOME", str(tmp_path / "home"))
    cfg = load_config(write(tmp_path, """
start_date: 2026-08-18
sources:
  - {name: aws, type: aws_cur, uri: /data/cur}
  - {name: openai, type: openai, uri: "${EMU}", admin_key_env: OPENAI_KEY}
"""))
    assert cfg.home == (tmp_path / "home").resolve()
    assert [s.name for s in cfg.sources] == ["aws", "openai"]
    assert cfg.sources[1].uri == "http://127.0.0.1:9"
    assert cfg.start_date == "2026-08-18"
    assert [s.name for s in cfg.sources_of_type("openai")] == ["openai"]


def test_secret_resolved_from_named_env_var(tmp_path, monkeypatch):
    cfg = load_config(write(tmp_path, "start_date: 2026-01-01\n"
                                      "sources:\n  - {name: oa, type: openai, uri: http://x, admin_key_env: OA_KEY}\n"))
    with pytest.raises(ConfigError, match="OA_KEY.*not set") as e:
        cfg.sources[0].secret()
    monkeypatch.setenv("OA_KEY", "sk-admin-very-secret")
    assert cfg.sources[0].secret() == "sk-admin-very-secret"
    assert "sk-admin" not in str(e.value)


@pytest.mark.parametrize("text, match", [
    ("sources:\n  - {name: a, type: nope, uri: x}\n", r"sources\[0\]\.type: unknown type 'nope'"),
    ("sources:\n  - {name: a, type: aws_cur}\n", r"sources\[0\]\.uri: required"),
    ("sources:\n  - {name: a, type: aws_cur, uri: x}\n  - {name: a, type: aws_cur, uri: y}\n",
     r"sources\[1\]\.name: duplicate"),
    ("sources:\n  - {name: a, type: openai, uri: x, admin_key: sk-123}\n",
     r"sources\[0\]\.admin_key: secrets must not be in the file"),
    ("bogus: 1\n", "bogus: unknown top-level key"),
    ("start_date: yesterday\n", "start_date: 'yesterday' is not a date written YYYY-MM-DD"),
    ("sources:\n  - {name: a, type: openai, uri: '${NOT_SET_ANYWHERE_X}'}\n",
     r"sources\[0\]\.uri: environment variable NOT_SET_ANYWHERE_X"),
])
def test_invalid_configs_name_the_key(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match) as e:
        load_config(write(tmp_path, text))
    assert str(tmp_path / "aispend.yaml") in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


# --- start_date, dates -------------------------------------------------------------------------
def test_start_date_is_required_when_sources_are_configured(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, "sources:\n  - {name: a, type: aws_cur, uri: /x}\n"))
    assert re.fullmatch(rf"{re.escape(str(tmp_path / 'aispend.yaml'))}: start_date: required "
                        r"\(the first day to ingest, "
                        r"YYYY-MM-DD, e\.g\. start_date: \d{4}-\d{2}-01\)", str(e.value))
    assert load_config(write(tmp_path, "home: /tmp/h\n")).sources == ()  # no sources: nothing to ingest, no date needed


@pytest.mark.parametrize("value, problem", [
    ("2023-13-01", "'2023-13-01' is not a valid date (month must be in 1..12)"),
    ("2023-02-30", "'2023-02-30' is not a valid date (day is out of range for month)"),
    ("2023-1-5", "'2023-1-5' is not a date written YYYY-MM-DD"),
])
def test_invalid_start_date_names_the_key(tmp_path, value, problem):
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, f"start_date: {value}\n"))
    assert str(e.value) == f"{tmp_path / 'aispend.yaml'}: start_date: {problem}"


def test_dates_stay_text_as_written(tmp_path):
    cfg = load_config(write(tmp_path, "start_date: 2026-08-18\nsources:\n"
                                      "  - {name: r, type: agent_trajectories, uri: /x, "
                                      "started_at: 2024-06-01T09:30:00Z}\n"))
    assert (cfg.start_date, cfg.sources[0].options) == ("2026-08-18", {"started_at": "2024-06-01T09:30:00Z"})


# --- source options ----------------------------------------------------------------------------
@pytest.mark.parametrize("source, problem", [
    ("{name: a, type: aws_cur_legacy, uri: s3://b/p, rol_arn: 'arn:aws:iam::123456789012:role/r'}",
     "sources[0].rol_arn: unknown option for type aws_cur_legacy; did you mean 'role_arn'?"),
    ("{name: a, type: openai, uri: http://x, admin_key_env: K, refetch_dayz: 3}",
     "sources[0].refetch_dayz: unknown option for type openai; did you mean 'refetch_days'?"),
    ("{name: a, type: otel_traces, uri: /x, url: /y}",
     "sources[0].url: unknown option for type otel_traces; did you mean 'uri'?"),
    ("{name: a, type: otel_traces, uri: /x, colour: red}",
     "sources[0].colour: unknown option for type otel_traces (options of otel_traces: refetch_days)"),
    ("{name: a, type: openai, uri: http://x, admin_key_env: K, refetch_days: x}",
     "sources[0].refetch_days: 'x' must be a whole number from 0 to 366"),
    ("{name: a, type: openai, uri: http://x, admin_key_env: K, refetch_days: 400}",
     "sources[0].refetch_days: 400 must be a whole number from 0 to 366"),
    ("{name: a, type: openai, uri: http://x, admin_key_env: K, bucket_width: 1w}",
     "sources[0].bucket_width: '1w' is not one of 1d, 1h"),
    ("{name: a, type: openai, uri: http://x, admin_key_env: K, usage_endpoints: [completion]}",
     "sources[0].usage_endpoints: 'completion' is not one of completions, embeddings, moderations, images, "
     "audio_speeches, audio_transcriptions, vector_stores, code_interpreter_sessions, file_search_calls, "
     "web_search_calls; did you mean 'completions'?"),
    ("{name: a, type: openai, uri: http://x}",
     "sources[0].admin_key_env: required for type openai (environment variable holding the organization admin key)"),
    ("{name: a, type: openai, uri: http://x, admin_key_env: sk-abc123}",
     "sources[0].admin_key_env: 'sk-abc123' must be the name of an environment variable (e.g. OPENAI_ADMIN_KEY), "
     "not the secret itself"),
    ("{name: a, type: anthropic, uri: http://x, admin_key_env: K, claude_code: maybe}",
     "sources[0].claude_code: 'maybe' must be true or false"),
    ("{name: a, type: agent_trajectories, uri: /x, started_at: 2024-06-31}",
     "sources[0].started_at: '2024-06-31' is not an ISO date or date-time (e.g. 2024-06-01 or 2024-06-01T09:30:00Z)"),
    ("{name: a, type: focus_files, uri: /x, role_arn: 'arn:aws:iam::123456789012:role/r'}",
     "sources[0].role_arn: only for an s3:// uri; this source reads /x"),
    ("{name: a, type: focus_files, uri: /x, mapping: azure}",
     "sources[0].mapping: 'azure' is not one of azure_ea, oci; did you mean 'azure_ea'?"),
    ("{name: a, type: focus_files, uri: /x, billing_currency: usd}",
     "sources[0].billing_currency: 'usd' must look like USD"),
    ("{name: a, type: aws_cur, uri: s3://b/p, role_arn: billing-read}",
     "sources[0].role_arn: 'billing-read' must look like arn:aws:iam::123456789012:role/billing-read"),
    ("{name: a, type: gcp_billing, uri: /x, page_size: 0}", "sources[0].page_size: 0 must be a whole number ≥ 1"),
    ("{name: a, type: self_hosted_requests, uri: /x, columns: {modle: model_name}}",
     "sources[0].columns: 'modle' is not one of request_id, task_id, application, model, host, gpu_uuids, started_at, "
     "finished_at, prompt_tokens, completion_tokens, status, duration_s; did you mean 'model'?"),
    ("{name: a, type: self_hosted_requests, uri: /x, constants: [host]}",
     "sources[0].constants: ['host'] must be a mapping, e.g. {request_id: b}"),
    ("{name: a, type: self_hosted_requests, uri: /x, constants: {host: }}",
     "sources[0].constants: host: None must be a text or a number"),
    ("{name: a, type: self_hosted_requests, uri: /x, format: azure_trace}",
     "sources[0].format: 'azure_trace' is not one of aispend, vllm, azure_llm_trace; did you mean 'azure_llm_trace'?"),
    ("{name: a, type: aws_cru, uri: /x}",
     "sources[0].type: unknown type 'aws_cru' (one of aws_cur, aws_cur_legacy, gcp_billing, openai, anthropic, "
     "otel_traces, gpu_telemetry, dcgm_metrics, self_hosted_requests, focus_files, aws_focus, litellm_logs, "
     "agent_trajectories); did you mean 'aws_cur'?"),
])
def test_source_options_are_checked_against_their_type(tmp_path, source, problem):
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, f"start_date: 2026-01-01\nsources:\n  - {source}\n"))
    assert str(e.value) == f"{tmp_path / 'aispend.yaml'}: {problem}"


def test_option_values_are_parsed_to_their_types(tmp_path, monkeypatch):
    monkeypatch.setenv("PAGE", "500")
    cfg = load_config(write(tmp_path, """start_date: 2026-01-01
sources:
  - {name: g, type: gcp_billing, uri: /x, catalog: "yes", anonymous: false, page_size: "${PAGE}",
     catalog_services: [Compute Engine], currency: EUR}
  - {name: a, type: anthropic, uri: http://x, admin_key_env: K, claude_code: "no", refetch_days: 0}
  - {name: s3, type: gpu_telemetry, uri: s3://b/gpu, role_arn: "arn:aws:iam::123456789012:role/r", format: collector}
  - {name: t, type: self_hosted_requests, uri: /x, format: vllm, columns: {duration_s: ms(latency)},
     constants: {host: h1, duration_s: 0.5}}
"""))
    assert [s.options for s in cfg.sources] == [
        {"catalog": True, "anonymous": False, "page_size": 500, "catalog_services": ["Compute Engine"],
         "currency": "EUR"},
        {"admin_key_env": "K", "claude_code": False, "refetch_days": 0},
        {"role_arn": "arn:aws:iam::123456789012:role/r", "format": "collector"},
        {"format": "vllm", "columns": {"duration_s": "ms(latency)"}, "constants": {"host": "h1", "duration_s": "0.5"}}]


def test_alerts_block_is_rejected_not_ignored(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, "alerts:\n  - {slack: https://hooks.slack.com/x}\n"))
    assert str(e.value) == (f"{tmp_path / 'aispend.yaml'}: alerts: alert channels (Slack, email, webhooks) are not "
                            "supported yet; remove the block: the weekly anomaly digest is written to "
                            "$AISPEND_HOME/alerts/anomaly-digest-<week end>.md and stdout by `aispend alert` and the "
                            "weekly_anomaly_job")


def test_unknown_top_level_key_suggests_the_known_one(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, "start_dat: 2026-01-01\n"))
    assert str(e.value).endswith("start_dat: unknown top-level key (one of home, home_mode, start_date, sources, "
                                 "whatif_keep); did you mean 'start_date'?")


def test_registry_is_derived_from_the_ingest_specs():
    """Every DESIGN.md source type, each feeding the raw tables its specs write; refetch_days on the daily ones."""
    assert set(SOURCE_TYPES) == {"aws_cur", "aws_focus", "aws_cur_legacy", "gcp_billing", "focus_files", "openai",
                                 "anthropic", "otel_traces", "litellm_logs", "agent_trajectories", "gpu_telemetry",
                                 "dcgm_metrics", "self_hosted_requests"}
    for name, st in SOURCE_TYPES.items():
        specs = [s for s in ALL_SPECS if name in s.source_types]
        assert set(st.raw_tables) == {t for s in specs for t in (s.snapshot_schemas or [s.raw_table])}
        assert (st.option("refetch_days") is not None) == any(s.cadence == "daily" for s in specs)
    assert SOURCE_TYPES["openai"].option("refetch_days").default == 3
    for aws in ("aws_cur", "aws_cur_legacy", "aws_focus", "focus_files", "gpu_telemetry", "dcgm_metrics"):
        assert {"profile", "role_arn", "endpoint_url", "region"} <= {o.name for o in SOURCE_TYPES[aws].options}


def test_readme_lists_every_option_of_every_source_type():
    """README's option reference is the registry's generated table, word for word."""
    text = README.read_text()
    start, end = "<!-- source-options: generated by pipelines.options.markdown_table -->\n", "<!-- /source-options -->"
    assert start in text and end in text
    assert text.split(start, 1)[1].split(end, 1)[0] == markdown_table(SOURCE_TYPES)


def test_readme_example_config_is_valid(tmp_path):
    """The configuration example in the README validates as written (every type, every option)."""
    example = re.search(r"## Configuration: `aispend.yaml`\n\n```yaml\n(.*?)```", README.read_text(), re.S).group(1)
    (tmp_path / "aispend.yaml").write_text(example)
    cfg = load_config(tmp_path / "aispend.yaml")
    assert len(cfg.sources) == 21 and cfg.start_date == "2026-08-18"
    assert {s.type for s in cfg.sources} == set(SOURCE_TYPES)
