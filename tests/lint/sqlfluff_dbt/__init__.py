"""What sqlfluff's jinja templater needs to render the dbt project without dbt (`.sqlfluff`'s
library_path: every public name here is in the Jinja context of every linted file).

sqlfluff's dbt builtins stand in for ref / source / config / this / return, and the project's
macros are loaded from dbt/macros. This module supplies the rest:
- var(): the defaults of dbt/dbt_project.yml (the builtin renders every var as 'item', which
  breaks the loop over query_key_precedence and the window-frame constant);
- execute = False, as in dbt's parse: macros that read a table (run_query) take their
  parse-time branch, so no database is needed;
- _whatif(): dbt makes every macro global, but Jinja never exports a name starting with '_', so
  dbt/macros/money.sql could not see this macro of dbt/macros/assumptions.sql;
- dbt.concat / date_trunc / dateadd / datediff / hash / listagg / position (the ones the project calls): the
  SQL dbt-duckdb renders for them.
"""

from pathlib import Path as _Path
from types import SimpleNamespace as _Namespace

import yaml as _yaml

_VARS = _yaml.safe_load((_Path(__file__).resolve().parents[3] / "dbt" / "dbt_project.yml").read_text())["vars"]

execute = False


def var(name, default=None):
    return _VARS.get(name, default)


def _whatif():
    return var("whatif") or {}


def _listagg(measure, delimiter_text="','", order_by_clause=None, limit_num=None):
    if limit_num:
        return (f"list_aggr((array_agg({measure} {order_by_clause or ''}))[1:{limit_num}], 'string_agg', "
                f"{delimiter_text})")
    return f"string_agg({measure}, {delimiter_text} {order_by_clause or ''})"


# dbt's cross-database macros, as dbt-duckdb (else dbt's default__ implementation) renders them
dbt = _Namespace(
    concat=lambda fields: " || ".join(fields),
    date_trunc=lambda part, date: f"date_trunc('{part}', {date})",
    dateadd=lambda part, interval, start: f"({start} + cast({interval} as bigint) * interval 1 {part})",
    datediff=lambda first, second, part: f"(date_diff('{part}', ({first})::timestamp, ({second})::timestamp))",
    hash=lambda field: f"md5(cast({field} as varchar))",
    listagg=_listagg,
    position=lambda substring_text, string_text: f"position({substring_text} in {string_text})",
)
