"""Agent run logs (SWE-agent .traj, OpenAI-chat transcripts) → raw `agent_llm_calls`, one snapshot per source.

Trajectory files carry no reliable timestamps, so they are not day-partitioned: every run of the
asset re-reads the source's files and replaces its snapshot whole.
"""

from connectors import agent_trajectories as conn
from pipelines.ingest._factory import RawSpec


def _runs(src):
    return {conn.RAW_TABLE: conn.read_runs(src.uri, src.options)}


SPECS = [RawSpec(
    raw_table=conn.RAW_TABLE, source_type="agent_trajectories", cadence="snapshot", schema=conn.SCHEMA,
    source_snapshot=_runs, snapshot_schemas={conn.RAW_TABLE: conn.SCHEMA},
    description="LLM calls of recorded agent runs: one row per assistant turn (OpenAI-chat transcripts) or one "
                "aggregate row per run (SWE-agent info.model_stats, with the agent's recorded instance_cost). "
                "Feeds LLM calls per task and agent-loop amplification.",
)]
