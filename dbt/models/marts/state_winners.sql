with

electoral_units as (

    select * from {{ ref('int_electoral_units') }}

),

unit_candidate_votes as (

    select * from {{ ref('int_unit_candidate_votes') }}

),

ranked as (

    select
        election_id,
        unit_code,
        party,
        votes,
        row_number() over (
            partition by election_id, unit_code
            order by votes desc, party
        ) as vote_position
    from unit_candidate_votes

),

tallies as (

    select
        election_id,
        unit_code,
        sum(case when party = 'DEM' then votes else 0 end) as dem_votes,
        sum(case when party = 'REP' then votes else 0 end) as rep_votes,
        sum(case when party = 'OTH' then votes else 0 end) as oth_votes,
        sum(votes) as total_votes,
        max(case when vote_position = 1 then votes end) as leading_votes,
        max(case when vote_position = 1 then party end) as leading_party,
        max(case when vote_position = 2 then votes end) as runner_up_votes
    from ranked
    group by
        election_id,
        unit_code

),

joined as (

    select
        electoral_units.election_id,
        electoral_units.unit_code,
        electoral_units.state,
        electoral_units.district,
        electoral_units.electoral_votes,
        cast(coalesce(tallies.dem_votes, 0) as bigint) as dem_votes,
        cast(coalesce(tallies.rep_votes, 0) as bigint) as rep_votes,
        cast(coalesce(tallies.oth_votes, 0) as bigint) as oth_votes,
        cast(coalesce(tallies.total_votes, 0) as bigint) as total_votes,
        cast(coalesce(tallies.leading_votes, 0) as bigint) as leading_votes,
        cast(coalesce(tallies.runner_up_votes, 0) as bigint)
            as runner_up_votes,
        tallies.leading_party
    from electoral_units
    left join tallies
        on electoral_units.election_id = tallies.election_id
        and electoral_units.unit_code = tallies.unit_code

),

-- a unit is won by the one candidate ahead of all others; a tie at the top,
-- or a unit without ballots, has no winner and its electoral votes stay
-- unassigned
final as (

    select
        election_id,
        unit_code,
        state,
        district,
        electoral_votes,
        dem_votes,
        rep_votes,
        oth_votes,
        total_votes,
        leading_votes,
        runner_up_votes,
        leading_votes - runner_up_votes as margin_votes,
        case
            when leading_votes > runner_up_votes then leading_party
        end as winner_party,
        leading_votes > 0 and leading_votes = runner_up_votes as is_tie,
        case
            when leading_votes > runner_up_votes then 0
            else electoral_votes
        end as unassigned_electoral_votes
    from joined

)

select * from final
