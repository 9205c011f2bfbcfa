{#-
    Schemas are named exactly as configured (staging, analytics), never
    prefixed with the target schema, so every warehouse has the same layout.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
