"""Ingest assets, one module per source; each declares a RawSpec and the factory does the rest.

Each module also declares `OPTIONS`: per source type it reads, the options a config may set
(`pipelines.options.Option`). `SOURCE_TYPES`, the registry `aispend.yaml` is validated against, is
derived from the specs (which raw tables a type feeds) and those declarations.
"""

from pipelines.ingest import agent_runs, anthropic, aws, focus, gcp, gpu, litellm, openai, otel, prices, self_hosted
from pipelines.options import SourceType, build_registry

ALL_SPECS = [*aws.SPECS, *gcp.SPECS, *openai.SPECS, *anthropic.SPECS, *otel.SPECS, *gpu.SPECS,
             *self_hosted.SPECS, *prices.SPECS, *focus.SPECS,
             *litellm.SPECS, *agent_runs.SPECS]

SOURCE_TYPES: dict[str, SourceType] = build_registry(ALL_SPECS, {
    **aws.OPTIONS, **gcp.OPTIONS, **openai.OPTIONS, **anthropic.OPTIONS, **otel.OPTIONS, **gpu.OPTIONS,
    **self_hosted.OPTIONS, **focus.OPTIONS, **litellm.OPTIONS, **agent_runs.OPTIONS})
