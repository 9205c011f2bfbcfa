with

source as (

    select * from {{ ref('district_results') }}

),

renamed as (

    select
        cast(year as integer) as election_year,
        upper(state_po) as state,
        cast(district as integer) as district,
        cast(dem_votes as bigint) as dem_votes,
        cast(rep_votes as bigint) as rep_votes,
        cast(other_votes as bigint) as oth_votes,
        cast(total_votes as bigint) as total_votes
    from source

)

select * from renamed
