with

source as (

    select * from {{ ref('electoral_splits') }}

),

renamed as (

    select
        cast(year as integer) as election_year,
        upper(state_po) as state,
        case
            when upper(district) = 'STATEWIDE' then null
            else {{ dbt.safe_cast(
                'district',
                api.Column.translate_type('integer')
            ) }}
        end as district,
        upper(district) = 'STATEWIDE' as is_statewide,
        upper(winner_party) as winner_party,
        cast(electoral_votes as integer) as electoral_votes
    from source

)

select * from renamed
