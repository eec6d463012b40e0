"""Typed Dagster resources. Secrets are resolved from env vars at use time, never stored."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import dagster as dg

from pipelines.config import AispendConfig, load_config


class AispendResource(dg.ConfigurableResource):
    """Where the lake and warehouse live and which sources are enabled (`aispend.yaml`).

    `home` overrides the file's `home` (and `AISPEND_HOME`); an empty `config_path` means no
    sources (definitions still load, e.g. for `dg check defs` on a fresh clone).
    """

    config_path: str = ""
    home: str = ""

    def load(self) -> AispendConfig:
        cfg = load_config(self.config_path or None)
        return replace(cfg, home=Path(self.home).resolve()) if self.home else cfg
