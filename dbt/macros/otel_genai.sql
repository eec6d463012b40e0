{#- Attribute names per GenAI field come from the otel_genai_attributes seed (current OTel GenAI,
    deprecated and OpenInference names): adding a naming convention is a seed row, not SQL.
    The seed is read when the model runs (the model declares `-- depends_on` the seed). -#}
{% macro otel_genai_attribute_map() -%}
  {%- set fields = {} -%}
  {%- if execute -%}
    {%- set rows = run_query("select field, attribute, coalesce(value_map, '') as value_map from "
                             ~ ref('otel_genai_attributes') ~ " order by field, priority") -%}
    {%- for r in rows -%}
      {%- do fields.setdefault(r[0], []).append((r[1], r[2])) -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return(fields) }}
{%- endmacro %}

{#- The first attribute present, in the seed's priority order, as `type`; values translated by the
    row's value_map (VALUE=canonical|…) when it has one. -#}
{% macro otel_genai_field(fields, field, json_col='attributes', type='varchar') -%}
  {%- set candidates = fields.get(field, []) -%}
  {%- if not candidates -%}
cast(null as {{ type }})
  {%- else -%}
coalesce(
    {%- for attribute, value_map in candidates %}
      {%- set value = "json_extract_string(" ~ json_col ~ ", '$.\"" ~ attribute ~ "\"')" %}
      {%- if value_map %}
        case {{ value }}
        {%- for pair in value_map.split('|') %} when '{{ pair.split('=')[0] }}' then '{{ pair.split('=')[1] }}'{% endfor %}
        else lower({{ value }}) end
      {%- else %}
        try_cast({{ value }} as {{ type }})
      {%- endif %}{% if not loop.last %},{% endif %}
    {%- endfor %}
    )
  {%- endif -%}
{%- endmacro %}
