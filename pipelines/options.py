"""Source options: every source type declares the options it reads, beside its ingest spec.

An `Option` says its name, type, default and what it does; `pipelines/ingest/<module>.py` declares
``OPTIONS = {source_type: (Option, ...)}`` next to its `RawSpec`s, and `build_registry` derives the
one registry of source types from the specs (which raw tables each type feeds) plus those
declarations. `load_config` checks every source against it: an unknown key, a value of the wrong
type or out of range is one error naming the key (with a "did you mean" from difflib).

Pure functions, no Dagster: unit-tested directly, and the README's option table is generated here
(`markdown_table`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, Mapping

# keys every source has; not options
RESERVED = ("name", "type", "uri")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


class OptionError(ValueError):
    """A source option is unknown or has a bad value; the message starts with the option's key."""


@dataclass(frozen=True)
class Option:
    """One source option. `kind`: str | int | bool | choice | list | map | date | datetime | env.

    `map`: a mapping whose keys are `choices` (when given) and whose values are text or numbers
    (kept as text), e.g. ``columns: {model: model_name}``.

    `env`: the name of an environment variable holding a secret (keys end in ``_env``); checked to
    be set when a run starts, never read into the config. `s3_only`: valid only with an s3:// uri.
    """

    name: str
    kind: str
    doc: str
    default: Any = None
    choices: tuple[str, ...] = ()
    min: int | None = None
    max: int | None = None
    pattern: str | None = None  # regex a str value must match (with `example` in the error)
    example: str | None = None
    required: bool = False
    s3_only: bool = False

    def parse(self, value: Any) -> Any:
        """The value in its declared type; raises OptionError (without the key) on a bad one."""
        kind = self.kind
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
                return value.strip().lower() in _TRUE
            raise OptionError(f"{value!r} must be true or false")
        if kind == "int":
            whole = (isinstance(value, (int, str)) and not isinstance(value, bool)
                     and re.fullmatch(r"-?\d+", str(value).strip()))
            n = int(value) if whole else None
            if n is None or (self.min is not None and n < self.min) or (self.max is not None and n > self.max):
                raise OptionError(f"{value!r} must be a whole number{self._range()}")
            return n
        if kind == "list":
            if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
                example = ", ".join(self.choices[:2]) or "a, b"
                raise OptionError(f"{value!r} must be a non-empty list of names, e.g. [{example}]")
            for v in value:
                self._choose(v)
            return list(value)
        if kind == "map":
            if not isinstance(value, dict) or not value:
                raise OptionError(f"{value!r} must be a mapping, e.g. {{{(self.choices or ('a',))[0]}: b}}")
            for k, v in value.items():
                self._choose(str(k))
                if isinstance(v, (bool, list, dict)) or v is None or not str(v).strip():
                    raise OptionError(f"{k}: {v!r} must be a text or a number")
            return {str(k): str(v).strip() for k, v in value.items()}
        if isinstance(value, (bool, list, dict)) or value is None or (isinstance(value, str) and not value.strip()):
            raise OptionError(f"{value!r} must be {self._what()}")
        text = str(value).strip()
        if kind == "choice":
            return self._choose(text)
        if kind == "date":
            return parse_date(text)
        if kind == "datetime":
            try:
                datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise OptionError(f"{text!r} is not an ISO date or date-time "
                                  "(e.g. 2024-06-01 or 2024-06-01T09:30:00Z)") from None
            return text
        if kind == "env":
            if not _ENV_NAME.match(text):
                raise OptionError(f"{text!r} must be the name of an environment variable (e.g. OPENAI_ADMIN_KEY), "
                                  "not the secret itself")
            return text
        if self.pattern and not re.fullmatch(self.pattern, text):
            raise OptionError(f"{text!r} must look like {self.example}")
        return text

    def _choose(self, v: str) -> str:
        if self.choices and v not in self.choices:
            raise OptionError(f"{v!r} is not one of {', '.join(self.choices)}{did_you_mean(v, self.choices)}")
        return v

    def _range(self) -> str:
        if self.min is not None and self.max is not None:
            return f" from {self.min} to {self.max}"
        return f" ≥ {self.min}" if self.min is not None else ""

    def _what(self) -> str:
        return {"choice": f"one of {', '.join(self.choices)}", "date": "a date YYYY-MM-DD",
                "datetime": "an ISO date or date-time",
                "env": "the name of an environment variable"}.get(self.kind, "a text value")

    def type_doc(self) -> str:
        """How the README names the type."""
        if self.kind == "choice":
            return " \\| ".join(f"`{c}`" for c in self.choices)
        if self.kind == "map":
            return f"mapping of {' / '.join(f'`{c}`' for c in self.choices)} → text" if self.choices else "mapping"
        if self.kind == "list":
            return f"list of {' / '.join(f'`{c}`' for c in self.choices)}" if self.choices else "list of text"
        if self.kind == "int":
            return f"whole number{self._range()}"
        if self.kind == "env":
            return "env var name"
        if self.pattern:
            return f"text like `{self.example}`"
        return {"str": "text", "date": "YYYY-MM-DD", "datetime": "ISO date/time"}.get(self.kind, self.kind)


@dataclass(frozen=True)
class SourceType:
    """A configurable source type: the raw tables it feeds (from the specs) and its options."""

    name: str
    raw_tables: tuple[str, ...]
    options: tuple[Option, ...]
    cadences: tuple[str, ...] = ()

    def option(self, key: str) -> Option | None:
        return next((o for o in self.options if o.name == key), None)


def did_you_mean(key: str, known: Iterable[str]) -> str:
    """"; did you mean 'x'?" for the closest known name (difflib), or ""."""
    near = difflib.get_close_matches(key, list(known), n=1)
    return f"; did you mean '{near[0]}'?" if near else ""


def parse_date(text: str) -> str:
    """A real calendar date written YYYY-MM-DD, returned as written; OptionError otherwise."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise OptionError(f"{text!r} is not a date written YYYY-MM-DD")
    try:
        date.fromisoformat(text)
    except ValueError as e:
        raise OptionError(f"{text!r} is not a valid date ({e})") from None
    return text


def refetch_option(default: int) -> Option:
    """`refetch_days`, which the ingest factory honours for every daily source type."""
    return Option("refetch_days", "int", default=default, min=0, max=366,
                  doc="trailing days re-read before the first requested day on every run and rewritten "
                      "(providers and writers that finalise days late)")


def plausible_options(usage: bool = False, cost: bool = True) -> tuple[Option, ...]:
    """`max_abs_cost` / `max_abs_quantity`: the per-line bounds of a billing source's money and
    quantity columns, or (`usage`) of a usage source's money and token / request counts per record
    (connectors.plausible: defaults and why)."""
    from connectors import plausible

    limits = plausible.USAGE if usage else plausible.DEFAULT
    opts = (Option(plausible.COST_OPTION, "int", default=limits.cost, min=1,
                   doc="largest plausible absolute cost of one line, in its billing currency: a value beyond it stops "
                       "the load naming file, row and column (raise it for JPY, KRW, ...)"),
            Option(plausible.QUANTITY_OPTION, "int", default=limits.quantity, min=1,
                   doc="largest plausible token / request count of one record" if usage else
                       "largest plausible absolute usage quantity of one line, in the export's unit"))
    return opts if cost else opts[1:]  # a source without money columns (self_hosted_requests)


def gpu_bounds_options() -> tuple[Option, ...]:
    """`max_power_w`: the upper physical bound of a GPU sample's power (connectors.plausible.GPU_BOUNDS)."""
    from connectors import plausible

    return (Option(plausible.POWER_OPTION, "int", default=plausible.DEFAULT_MAX_POWER_W, min=1,
                   doc="largest plausible board power of one GPU in W; a sample outside it, or utilisation outside "
                       "0..100 %, stops the load naming file, GPU, time and column"),)


def build_registry(specs: Iterable[Any], declared: Mapping[str, tuple[Option, ...]]) -> dict[str, SourceType]:
    """Source types from the ingest specs (a spec's `source_types`; a global catalogue, i.e. a
    `snapshot` spec, is no configurable type), each with its declared options; a daily type also
    gets `refetch_days`. A type without a declaration, or a declaration without a spec, raises."""
    tables: dict[str, list[str]] = {}
    cadences: dict[str, list[str]] = {}
    refetch: dict[str, int] = {}
    for spec in specs:
        if getattr(spec, "snapshot", None) is not None:
            continue
        for t in spec.source_types:
            tables.setdefault(t, []).extend(spec.snapshot_schemas or [spec.raw_table])
            cadences.setdefault(t, []).append(spec.cadence)
            if spec.cadence == "daily":
                refetch[t] = max(refetch.get(t, 0), spec.refetch_days)
    if set(tables) != set(declared):
        raise RuntimeError(f"source types without declared options: {sorted(set(tables) - set(declared))}; "
                           f"options declared for no ingest spec: {sorted(set(declared) - set(tables))}")
    out = {}
    for name in tables:
        opts = tuple(declared[name]) + ((refetch_option(refetch[name]),) if name in refetch else ())
        names = [o.name for o in opts]
        if len(set(names)) != len(names) or set(names) & set(RESERVED):
            raise RuntimeError(f"source type {name}: duplicate or reserved option names in {names}")
        out[name] = SourceType(name, tuple(dict.fromkeys(tables[name])), opts, tuple(dict.fromkeys(cadences[name])))
    return out


def check_options(stype: SourceType, given: Mapping[str, Any], uri: str) -> dict[str, Any]:
    """The source's options parsed to their types. Raises OptionError("<key>: <problem>")."""
    out: dict[str, Any] = {}
    for key, value in given.items():
        opt = stype.option(key)
        if opt is None:
            hint = did_you_mean(key, [o.name for o in stype.options] + list(RESERVED))
            if not hint:
                hint = (f" (options of {stype.name}: {', '.join(o.name for o in stype.options)})" if stype.options
                        else f" ({stype.name} takes no options)")
            raise OptionError(f"{key}: unknown option for type {stype.name}{hint}")
        if opt.s3_only and not uri.startswith("s3://"):
            raise OptionError(f"{key}: only for an s3:// uri; this source reads {uri}")
        try:
            out[key] = opt.parse(value)
        except OptionError as e:
            raise OptionError(f"{key}: {e}") from None
    for opt in stype.options:
        if opt.required and opt.name not in out:
            raise OptionError(f"{opt.name}: required for type {stype.name} ({opt.doc})")
    return out


def markdown_table(registry: Mapping[str, SourceType]) -> str:
    """The README's option reference (kept in sync by a test): per source type its raw tables and
    options with defaults, then per option name its values and meaning."""
    lines = ["| type | feeds raw tables | options (default) |", "| --- | --- | --- |"]
    # one row per option name and value set: two source types' `format` take different values
    meaning: dict[tuple[str, str], list[str]] = {}
    for st in registry.values():
        names = []
        for o in st.options:
            default = " (required)" if o.required else ("" if o.default is None else f" (`{_yaml(o.default)}`)")
            names.append(f"`{o.name}`{default}" + (" s3:// only" if o.s3_only else ""))
            docs = meaning.setdefault((o.name, o.type_doc()), [])
            if o.doc not in docs:
                docs.append(o.doc)
        tables = ", ".join(f"`{t}`" for t in st.raw_tables)
        lines.append(f"| `{st.name}` | {tables} | {', '.join(names) or '— (the uri only)'} |")
    lines += ["", "| option | value | what it does |", "| --- | --- | --- |"]
    for (name, values), docs in sorted(meaning.items()):
        lines.append(f"| `{name}` | {values} | {'; '.join(docs)} |")
    return "\n".join(lines) + "\n"


def _yaml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(str(x) for x in v) + "]"
    return str(v)


if __name__ == "__main__":  # `python -m pipelines.options`: the README's option reference
    from pipelines.ingest import SOURCE_TYPES

    print(markdown_table(SOURCE_TYPES), end="")
