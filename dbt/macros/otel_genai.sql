{#- Attribute names per GenAI field come from the otel_genai_attributes seed (current OTel GenAI,
    deprecated and OpenInference names): adding a naming convention is a seed row, not SQL.
    The seed is read when the model runs (the model declares `-- depends_on` the seed). -#}
{% macro otel_genai_attribute_map() -%}
  {%- set fields = {} -%}
  {%- if execute -%}
    {%- set rows = run_query("select field, attribute, coalesce(value_map, '') as value_map, "
                             ~ "coalesce(json_path, '') as json_path from "
                             ~ ref('otel_genai_attributes') ~ " order by field, priority") -%}
    {%- for r in rows -%}
      {%- do fields.setdefault(r[0], []).append((r[1], r[2], r[3])) -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return(fields) }}
{%- endmacro %}

{#- The raw zone keeps each span's and resource's OTLP attribute list as given
    ([{"key": …, "value": {"stringValue" | "intValue" | "doubleValue" | "boolValue": …}}, …]).
    otel_attr_entries parses one such list once per row into [{key, v}] — only the `keys` staging
    reads, each value as its scalar text (intValue is a 64-bit integer written as a string) — and
    otel_attr picks one key from it: the last entry wins, as in a JSON object. Partitions written
    before the list format (a JSON object of key → scalar) give NULL entries, and otel_attr reads
    them by key from `legacy_col` instead. -#}
{% macro otel_attr_entries(list_col, keys) -%}
case when starts_with({{ list_col }}, '[') then list_transform(list_filter(
    json_transform({{ list_col }}, '[{"key":"VARCHAR","value":{"stringValue":"VARCHAR","intValue":"VARCHAR","doubleValue":"VARCHAR","boolValue":"VARCHAR"}}]'),
    lambda a: a.key in ({% for k in keys %}'{{ k }}'{% if not loop.last %}, {% endif %}{% endfor %})),
    lambda a: {'key': a.key, 'v': coalesce(a.value.stringValue, a.value.intValue, a.value.doubleValue, a.value.boolValue)})
end
{%- endmacro %}

{% macro otel_attr(entries_col, legacy_col, key) -%}
case when {{ entries_col }} is null then json_extract_string({{ legacy_col }}, '$."{{ key }}"')
     else list_filter({{ entries_col }}, lambda a: a.key = '{{ key }}')[-1].v end
{%- endmacro %}

{#- Every attribute name the seed maps, for otel_attr_entries. -#}
{% macro otel_genai_attribute_names(fields) -%}
  {%- set names = [] -%}
  {%- for field, candidates in fields.items() -%}
    {%- for attribute, value_map, json_path in candidates -%}
      {%- if attribute not in names %}{% do names.append(attribute) %}{% endif -%}
    {%- endfor -%}
  {%- endfor -%}
  {{ return(names) }}
{%- endmacro %}

{#- The first attribute present, in the seed's priority order, as `type`; values translated by the
    row's value_map (VALUE=canonical|…) when it has one. A row with a json_path reads that path from
    the attribute's value when the value is JSON text (a response body an instrumentation records,
    e.g. OpenInference's output.value); any other text gives null, never an error. -#}
{% macro otel_genai_field(fields, field, entries_col='attr_entries', legacy_col='attributes', type='varchar') -%}
  {%- set candidates = fields.get(field, []) -%}
  {%- if not candidates -%}
cast(null as {{ type }})
  {%- else -%}
coalesce(
    {%- for attribute, value_map, json_path in candidates %}
      {%- set value = otel_attr(entries_col, legacy_col, attribute) %}
      {%- if json_path %}
        try_cast(json_extract_string(case when json_valid({{ value }}) then {{ value }} end, '{{ json_path }}')
                 as {{ type }})
      {%- elif value_map %}
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
