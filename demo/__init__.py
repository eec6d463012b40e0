"""aispend demo: a synthetic organisation (every source in its native format) and a local
emulator of the OpenAI / Anthropic admin usage and cost APIs.

    from demo import generate, apply_restatement, DEFAULT_END
    m = generate(Path("demo-data"))          # ~2026-08-18 .. 2026-11-15
    with ApiEmulator(Path("demo-data/api")) as emu: ...

See demo/README.md and docs/contracts.md §Demo organisation.
"""

from ._common import DEFAULT_END
from .generator import DemoManifest, apply_restatement, generate, load_manifest

__all__ = ["DEFAULT_END", "DemoManifest", "apply_restatement", "generate", "load_manifest"]
