"""The one configuration file (`aispend.yaml`): which sources are enabled, where data lives, alerts.

Validated at start; every error names the offending key (e.g. ``sources[2].uri``) so a user can
fix the file without reading code. Secrets are never values in this file: keys ending in ``_env``
name an environment variable, read only when a connector needs it.

Values may reference environment variables as ``${NAME}`` (used by the demo to point API sources
at the local emulator, and by deployments to keep bucket names per environment).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Source types from DESIGN.md "Interfaces", with the raw tables each one feeds. Adding a source
# type is a data change here plus a connector; the asset factory reads this map.
SOURCE_TYPES: dict[str, tuple[str, ...]] = {
    "aws_cur": ("aws_cur",),
    "aws_focus": ("focus_lines",),
    "aws_cur_legacy": ("aws_cur",),
    "gcp_billing": ("gcp_billing", "gcp_catalog_skus"),
    "focus_files": ("focus_lines",),
    "openai": ("openai_usage", "openai_costs"),
    "anthropic": ("anthropic_usage", "anthropic_costs", "anthropic_claude_code"),
    "otel_traces": ("otel_spans",),
    "litellm_logs": ("litellm_spend_logs",),
    "agent_trajectories": ("agent_llm_calls",),
    "gpu_telemetry": ("gpu_samples",),
    "dcgm_metrics": ("gpu_samples",),
    "self_hosted_requests": ("self_hosted_requests",),
}

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


class ConfigError(ValueError):
    """The config file is invalid; the message names the file and the key."""


@dataclass(frozen=True)
class SourceConfig:
    name: str
    type: str
    uri: str
    options: dict[str, Any] = field(default_factory=dict)

    def secret(self, key: str = "admin_key") -> str:
        """Resolve ``<key>_env`` to the secret's value. Raises naming the variable, never the value."""
        var = self.options.get(f"{key}_env")
        if not var:
            raise ConfigError(f"source '{self.name}': '{key}_env' is required (the env var holding the {key})")
        value = os.environ.get(var)
        if not value:
            raise ConfigError(f"source '{self.name}': environment variable {var} (from '{key}_env') is not set")
        return value


@dataclass(frozen=True)
class AispendConfig:
    home: Path
    sources: tuple[SourceConfig, ...]
    start_date: str = "2025-01-01"
    alerts: tuple[dict[str, Any], ...] = ()
    path: Path | None = None

    def sources_of_type(self, *types: str) -> list[SourceConfig]:
        return [s for s in self.sources if s.type in types]

    @property
    def lake(self) -> Path:
        return self.home / "lake"

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse" / "aispend.duckdb"


def _expand(value: Any, where: str, path: str) -> Any:
    if isinstance(value, str):
        def repl(m: re.Match[str]) -> str:
            if m.group(1) not in os.environ:
                raise ConfigError(f"{path}: {where}: environment variable {m.group(1)} is not set")
            return os.environ[m.group(1)]
        return _ENV_REF.sub(repl, value)
    return value


def default_home() -> Path:
    return Path(os.environ.get("AISPEND_HOME", "./data")).resolve()


def load_config(path: str | os.PathLike[str] | None) -> AispendConfig:
    """Load and validate ``aispend.yaml``. ``AISPEND_HOME`` overrides ``home``.

    With no path, an empty configuration (no sources) on the default home is returned so the
    Dagster definitions still load, e.g. for ``dg check defs`` on a fresh clone.
    """
    if path is None:
        return AispendConfig(home=default_home(), sources=())
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: config file not found")
    try:
        raw = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: top level must be a mapping")
    unknown = set(raw) - {"home", "sources", "alerts", "start_date"}
    if unknown:
        raise ConfigError(f"{p}: unknown top-level key(s): {', '.join(sorted(unknown))}")

    home_val = os.environ.get("AISPEND_HOME") or _expand(raw.get("home", "./data"), "home", str(p))
    home = Path(home_val)
    if not home.is_absolute():
        home = home.resolve()

    sources_raw = raw.get("sources") or []
    if not isinstance(sources_raw, list):
        raise ConfigError(f"{p}: sources: must be a list")
    sources: list[SourceConfig] = []
    seen: set[str] = set()
    for i, s in enumerate(sources_raw):
        where = f"sources[{i}]"
        if not isinstance(s, dict):
            raise ConfigError(f"{p}: {where}: must be a mapping with name, type, uri")
        for key in ("name", "type", "uri"):
            if not s.get(key):
                raise ConfigError(f"{p}: {where}.{key}: required")
        name, typ = str(s["name"]), str(s["type"])
        if not _NAME.match(name):
            raise ConfigError(f"{p}: {where}.name: '{name}' must be lowercase letters, digits, '_' or '-'")
        if name in seen:
            raise ConfigError(f"{p}: {where}.name: duplicate source name '{name}'")
        seen.add(name)
        if typ not in SOURCE_TYPES:
            raise ConfigError(f"{p}: {where}.type: unknown type '{typ}' (one of {', '.join(SOURCE_TYPES)})")
        if not SOURCE_TYPES[typ]:
            raise ConfigError(f"{p}: {where}.type: '{typ}' is not supported by this version yet")
        options = {k: _expand(v, f"{where}.{k}", str(p)) for k, v in s.items() if k not in ("name", "type", "uri")}
        for k, v in options.items():
            if k.endswith("_key") or k in ("password", "secret", "token"):
                raise ConfigError(f"{p}: {where}.{k}: secrets must not be in the file; use '{k}_env' naming an env var")
        uri = _expand(str(s["uri"]), f"{where}.uri", str(p))
        if "://" not in uri and not Path(uri).is_absolute():
            # Relative paths are relative to the config file, so a config travels with its data.
            uri = str((p.parent / uri).resolve())
        sources.append(SourceConfig(name=name, type=typ, uri=uri, options=options))

    alerts = raw.get("alerts") or []
    if not isinstance(alerts, list):
        raise ConfigError(f"{p}: alerts: must be a list")
    start_date = str(raw.get("start_date", "2025-01-01"))
    if not re.match(r"^\d{4}-\d{2}-\d{2}$", start_date):
        raise ConfigError(f"{p}: start_date: '{start_date}' must be YYYY-MM-DD")
    return AispendConfig(home=home, sources=tuple(sources), start_date=start_date, alerts=tuple(alerts), path=p.resolve())


def config_path_from_env() -> str | None:
    return os.environ.get("AISPEND_CONFIG")
