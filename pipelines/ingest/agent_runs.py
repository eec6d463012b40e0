"""Agent run logs (SWE-agent .traj, OpenAI-chat transcripts) → raw `agent_llm_calls`, one snapshot per source.

Trajectory files carry no reliable timestamps, so they are not day-partitioned: every run of the
asset re-reads the source's files and replaces its snapshot whole.
"""

from connectors import agent_trajectories as conn
from connectors import plausible
from pipelines.ingest._factory import RawSpec
from pipelines.options import Option, plausible_options


def _runs(src):
    return {conn.RAW_TABLE: plausible.guard(conn.read_runs(src.uri, src.options), src.type, src.options,
                                            conn.PLAUSIBLE, ident=conn.IDENTITY)}


OPTIONS = {"agent_trajectories": (
    Option("model", "str", "model of every call when the files do not name it (then required)"),
    Option("provider", "str", "provider of the calls (default: from the model name, connectors/model_providers.csv)"),
    Option("agent", "str", "agent name (default: swe-agent for .traj files, the file name for transcripts)"),
    Option("started_at", "datetime", "when the runs happened, UTC (the files carry no timestamps; "
                                     "default: each file's modification time)"),
    *plausible_options(usage=True),
)}

SPECS = [RawSpec(
    raw_table=conn.RAW_TABLE, source_type="agent_trajectories", cadence="snapshot", schema=conn.SCHEMA,
    source_snapshot=_runs, snapshot_schemas={conn.RAW_TABLE: conn.SCHEMA},
    description="LLM calls of recorded agent runs: one row per assistant turn (OpenAI-chat transcripts) or one "
                "aggregate row per run (SWE-agent info.model_stats, with the agent's recorded instance_cost). "
                "Feeds LLM calls per task and agent-loop amplification.",
)]
