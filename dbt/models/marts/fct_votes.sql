{#-
    NOTE: incremental on DuckDB only; the Snowflake emulator used in tests
    cannot run the incremental merge, so Snowflake rebuilds the table.
-#}
{{
    config(
        materialized=(
            'incremental' if target.type == 'duckdb' else 'table'
        ),
        unique_key='vote_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

with

votes as (

    select * from {{ ref('stg_raw__votes') }}

    {% if is_incremental() %}
    -- NOTE: `>=` and not `>`: rows the sync stamped with the same
    -- `_synced_at` as the newest row already here are read again, and the
    -- unique key replaces them. A late ballot (old cast_at, new _synced_at)
    -- is therefore always picked up.
    where _synced_at >= (
        select
            {{ dbt.dateadd(
                'minute',
                -1 * var('votes_lookback_minutes'),
                'max(_synced_at)'
            ) }}
        from {{ this }}
    )
    or (select max(_synced_at) from {{ this }}) is null
    {% endif %}

),

final as (

    select
        vote_id,
        election_id,
        candidate_id,
        state,
        district,
        cast_at,
        _synced_at
    from votes

)

select * from final
