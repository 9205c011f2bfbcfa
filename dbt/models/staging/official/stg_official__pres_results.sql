with

results_2020 as (

    select * from {{ ref('pres_results_2020') }}

),

results_2024 as (

    select * from {{ ref('pres_results_2024') }}

),

unioned as (

    select * from results_2020
    union all
    select * from results_2024

),

renamed as (

    select
        cast(year as integer) as election_year,
        upper(state_po) as state,
        state_name,
        cast(electoral_votes as integer) as electoral_votes,
        dem_candidate as dem_candidate_name,
        rep_candidate as rep_candidate_name,
        cast(dem_votes as bigint) as dem_votes,
        cast(rep_votes as bigint) as rep_votes,
        cast(other_votes as bigint) as oth_votes,
        cast(total_votes as bigint) as total_votes
    from unioned

)

select * from renamed
