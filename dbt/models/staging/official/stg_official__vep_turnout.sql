with

source as (

    select * from {{ ref('vep_turnout_2020_2024') }}

),

renamed as (

    select
        cast(year as integer) as election_year,
        upper(state_po) as state,
        cast(vep as bigint) as eligible_population,
        cast(total_ballots as bigint) as total_ballots,
        vep_turnout_rate as ballots_turnout_percent
    from source

)

select * from renamed
