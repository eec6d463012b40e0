"""Ingest assets, one module per source; each declares a RawSpec and the factory does the rest."""

from pipelines.ingest import agent_runs, anthropic, aws, focus, gcp, gpu, litellm, openai, otel, prices, self_hosted

ALL_SPECS = [*aws.SPECS, *gcp.SPECS, *openai.SPECS, *anthropic.SPECS, *otel.SPECS, *gpu.SPECS,
             *self_hosted.SPECS, *prices.SPECS, *focus.SPECS,
             *litellm.SPECS, *agent_runs.SPECS]
