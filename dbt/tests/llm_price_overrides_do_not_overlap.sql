{#- Two override rows of the same provider × model × variant may not overlap in time (macro
    llm_price_override_overlaps): which one wins would be undefined and every call in the overlap
    would be priced twice. Fails with an error naming the overlapping rows. -#}
{%- set overlaps = 'select problem from ' ~ llm_price_override_overlaps(ref('llm_price_overrides')) ~ ' as o order by problem' %}
{%- if execute %}
  {%- set found = run_query(overlaps) %}
  {%- if found.rows | length > 0 %}
    {{ exceptions.raise_compiler_error(
        "seed llm_price_overrides: override rows overlap in time for the same provider/model/variant — "
        ~ (found.columns[0].values() | join('; '))
        ~ ". Close the earlier row (valid_to = the next row's valid_from) or delete one.") }}
  {%- endif %}
{%- endif %}
{{ overlaps }}
