"""The one configuration file (`aispend.yaml`): which sources are enabled and where data lives.

Validated when loaded; every error is one line naming the file and the offending key (e.g.
``sources[2].uri: required``, ``sources[3].rol_arn: unknown option for type aws_cur_legacy; did you
mean 'role_arn'?``) so a user can fix the file without reading code. Source types and their
options come from the ingest specs (`pipelines.ingest.SOURCE_TYPES`). `preflight` checks, when a run
starts and before anything is written, what only the machine can tell: local paths exist and
the environment variables named by ``*_env`` keys are set. Secrets are never values in this file:
keys ending in ``_env`` name an environment variable, read only when a connector needs it.

Values may reference environment variables as ``${NAME}`` (used by the demo to point API sources
at the local emulator, and by deployments to keep bucket names per environment).
"""

from __future__ import annotations

import glob
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from pipelines.options import OptionError, check_options, did_you_mean, parse_date

TOP_LEVEL_KEYS = ("home", "home_mode", "start_date", "sources", "whatif_keep")
WHATIF_KEEP = 3  # what-if copies kept under $AISPEND_HOME/whatif/ (whatif_keep / --keep)
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
    start_date: str = "2025-01-01"  # required in a file with sources; this default only serves no-source definitions
    path: Path | None = None
    whatif_keep: int = WHATIF_KEEP
    home_mode: str = "private"

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


class _Loader(yaml.SafeLoader):
    """YAML without implicit timestamps: `start_date: 2023-13-01` stays text for our own check
    (naming the key) instead of failing inside the YAML parser; valid dates stay text too."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


# home_mode → (mode of the home's folders, process umask). Bills and usage are the organisation's
# business: nothing under the home is readable by other users of the host; `group` shares it read-only
# with the home's group (e.g. a shared analyst group owning the folder).
HOME_MODES = {"private": (0o700, 0o077), "group": (0o750, 0o027)}


def home_mode_from_env() -> str:
    """`AISPEND_HOME_MODE` (for commands run without a config file), else private."""
    mode = os.environ.get("AISPEND_HOME_MODE") or "private"
    if mode not in HOME_MODES:
        raise ConfigError(f"AISPEND_HOME_MODE: {mode!r} must be one of {', '.join(HOME_MODES)}")
    return mode


def secure_home(home: Path, mode: str, *, create: bool = True) -> None:
    """Make everything aispend writes under `home` 0600/0700 (``group``: 0640/0750) from now on.

    Sets the process umask (files written later by DuckDB, Dagster, dbt, Parquet writers and renames
    of them inherit it), creates the home, and sets its own mode. A home whose folder mode differs
    (made before this setting, or switched between private and group) has every file and folder
    under it re-moded once, so older files follow the setting too.
    """
    dir_mode, umask = HOME_MODES[mode]
    os.umask(umask)
    if create:
        home.mkdir(parents=True, exist_ok=True)
    elif not home.is_dir():
        return
    st_home = home.stat().st_mode
    if st_home & 0o777 != dir_mode:
        for root, dirs, files in os.walk(home):
            for name in dirs + files:
                path = os.path.join(root, name)
                st = os.lstat(path)
                if not stat.S_ISLNK(st.st_mode):
                    os.chmod(path, _moded(st.st_mode, mode))
        os.chmod(home, _moded(st_home, mode) | dir_mode)


def set_home_file_mode(path: Path, mode: str) -> None:
    """Give a file that was copied into the home with its source's mode the home's file mode."""
    if path.is_file():
        os.chmod(path, 0o666 & ~HOME_MODES[mode][1])


def _moded(st_mode: int, mode: str) -> int:
    """The owner's bits kept; the group gets read (+ execute where the owner has it) in group mode;
    others nothing. A folder's setgid bit stays (it keeps new files in a shared group)."""
    owner = st_mode & 0o700
    setgid = st_mode & stat.S_ISGID if stat.S_ISDIR(st_mode) else 0
    return setgid | owner | ((owner & 0o500) >> 3 if mode == "group" else 0)


def default_home() -> Path:
    return Path(os.environ.get("AISPEND_HOME", "./data")).resolve()


def load_config(path: str | os.PathLike[str] | None) -> AispendConfig:
    """Load and validate ``aispend.yaml``. ``AISPEND_HOME`` overrides ``home``.

    With no path, an empty configuration (no sources) on the default home is returned so the
    Dagster definitions still load, e.g. for ``dg check defs`` on a fresh clone.
    """
    if path is None:
        return AispendConfig(home=default_home(), sources=(), home_mode=home_mode_from_env())
    from pipelines.ingest import SOURCE_TYPES  # the registry lives beside the ingest specs

    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: config file not found")
    try:
        raw = yaml.load(p.read_text(), Loader=_Loader) or {}
    except (yaml.YAMLError, ValueError) as e:
        raise ConfigError(f"{p}: not valid YAML: {' '.join(str(e).split())}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: top level must be a mapping")
    if "alerts" in raw:
        raise ConfigError(f"{p}: alerts: alert channels (Slack, email, webhooks) are not supported yet; remove the "
                          "block: the weekly anomaly digest is written to "
                          "$AISPEND_HOME/alerts/anomaly-digest-<week end>.md and stdout by `aispend alert` and the "
                          "weekly_anomaly_job")
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(f"{p}: {key}: unknown top-level key (one of {', '.join(TOP_LEVEL_KEYS)})"
                              f"{did_you_mean(str(key), TOP_LEVEL_KEYS)}")

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
            raise ConfigError(f"{p}: {where}.type: unknown type '{typ}' (one of {', '.join(SOURCE_TYPES)})"
                              f"{did_you_mean(typ, SOURCE_TYPES)}")
        options = {k: _expand(v, f"{where}.{k}", str(p)) for k, v in s.items() if k not in ("name", "type", "uri")}
        for k in options:
            if k.endswith("_key") or k in ("password", "secret", "token"):
                raise ConfigError(f"{p}: {where}.{k}: secrets must not be in the file; use '{k}_env' naming an env var")
        uri = _expand(str(s["uri"]), f"{where}.uri", str(p))
        if "://" not in uri and not Path(uri).is_absolute():
            # Relative paths are relative to the config file, so a config travels with its data.
            uri = str((p.parent / uri).resolve())
        try:
            options = check_options(SOURCE_TYPES[typ], options, uri)
        except OptionError as e:
            raise ConfigError(f"{p}: {where}.{e}") from None
        sources.append(SourceConfig(name=name, type=typ, uri=uri, options=options))

    if "start_date" not in raw:
        if sources:
            raise ConfigError(f"{p}: start_date: required (the first day to ingest, YYYY-MM-DD, e.g. "
                              f"start_date: {date.today().replace(day=1).isoformat()})")
        start_date = AispendConfig.start_date
    else:
        try:
            start_date = parse_date(str(_expand(raw["start_date"], "start_date", str(p))).strip())
        except OptionError as e:
            raise ConfigError(f"{p}: start_date: {e}") from None
    whatif_keep = raw.get("whatif_keep", WHATIF_KEEP)
    if isinstance(whatif_keep, bool) or not isinstance(whatif_keep, int) or whatif_keep < 1:
        raise ConfigError(f"{p}: whatif_keep: {whatif_keep!r} must be a whole number ≥ 1 (what-if copies kept)")
    home_mode = home_mode_from_env() if os.environ.get("AISPEND_HOME_MODE") else raw.get("home_mode", "private")
    if home_mode not in HOME_MODES:
        raise ConfigError(f"{p}: home_mode: {home_mode!r} must be one of {', '.join(HOME_MODES)} "
                          "(private: owner only; group: also readable by the home's group)")
    return AispendConfig(home=home, sources=tuple(sources), start_date=start_date, path=p.resolve(),
                         whatif_keep=whatif_keep, home_mode=home_mode)


def preflight(cfg: AispendConfig) -> None:
    """What a run needs from this machine, checked before anything is written: every local
    `uri` exists (a glob matches a file), every ``*_env`` variable is set. Raises the first problem
    as a ConfigError naming the key (never a variable's value)."""
    from pipelines.ingest import SOURCE_TYPES

    where = cfg.path or "config"
    for i, src in enumerate(cfg.sources):
        if "://" not in src.uri:
            if glob.has_magic(src.uri):
                if not glob.glob(src.uri):
                    raise ConfigError(f"{where}: sources[{i}].uri: no file matches {src.uri}")
            elif not Path(src.uri).exists():
                raise ConfigError(f"{where}: sources[{i}].uri: {src.uri} does not exist")
        for opt in SOURCE_TYPES[src.type].options:
            var = src.options.get(opt.name)
            if opt.kind == "env" and var and not os.environ.get(var):
                raise ConfigError(f"{where}: sources[{i}].{opt.name}: environment variable {var} is not set")


def config_path_from_env() -> str | None:
    return os.environ.get("AISPEND_CONFIG")
