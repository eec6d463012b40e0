"""Ingest assets, one module per source; each declares a RawSpec and the factory does the rest."""

from pipelines.ingest import anthropic, aws, focus, gcp, gpu, openai, otel, prices, self_hosted

ALL_SPECS = [*aws.SPECS, *gcp.SPECS, *openai.SPECS, *anthropic.SPECS, *otel.SPECS, *gpu.SPECS,
             *self_hosted.SPECS, *prices.SPECS, *focus.SPECS]
