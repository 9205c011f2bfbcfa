with

elections as (

    select * from {{ ref('stg_raw__elections') }}

),

state_winners as (

    select * from {{ ref('state_winners') }}

),

electoral_college as (

    select * from {{ ref('electoral_college') }}

),

turnout_by_state as (

    select * from {{ ref('turnout_by_state') }}

),

popular_vote as (

    select
        election_id,
        cast(sum(dem_votes) as bigint) as dem_votes,
        cast(sum(rep_votes) as bigint) as rep_votes,
        cast(sum(oth_votes) as bigint) as oth_votes,
        cast(sum(total_votes) as bigint) as total_votes
    from state_winners
    where district is null
    group by
        election_id

),

electoral_vote as (

    select
        election_id,
        cast(
            sum(
                case
                    when party = 'DEM' then electoral_votes
                    else 0
                end
            ) as bigint
        ) as dem_electoral_votes,
        cast(
            sum(
                case
                    when party = 'REP' then electoral_votes
                    else 0
                end
            ) as bigint
        ) as rep_electoral_votes,
        cast(
            sum(
                case
                    when party = 'OTH' then electoral_votes
                    else 0
                end
            ) as bigint
        ) as oth_electoral_votes,
        cast(
            sum(
                case
                    when party = 'UNASSIGNED' then electoral_votes
                    else 0
                end
            ) as bigint
        ) as unassigned_electoral_votes,
        max(case when is_winner then party end) as winner_party,
        max(case when is_winner then candidate_name end)
            as winner_candidate_name
    from electoral_college
    group by
        election_id

),

turnout as (

    select
        election_id,
        cast(sum(eligible) as bigint) as eligible,
        cast(sum(voted) as bigint) as voted,
        cast(sum(official_votes) as bigint) as official_votes,
        cast(sum(official_eligible) as bigint) as official_eligible
    from turnout_by_state
    group by
        election_id

),

final as (

    select
        elections.election_id,
        elections.election_year,
        elections.ratio,
        elections.election_name,
        coalesce(popular_vote.dem_votes, 0) as dem_votes,
        coalesce(popular_vote.rep_votes, 0) as rep_votes,
        coalesce(popular_vote.oth_votes, 0) as oth_votes,
        coalesce(popular_vote.total_votes, 0) as total_votes,
        {{ divide('popular_vote.dem_votes', 'popular_vote.total_votes') }}
            as dem_share,
        {{ divide('popular_vote.rep_votes', 'popular_vote.total_votes') }}
            as rep_share,
        {{ divide('popular_vote.oth_votes', 'popular_vote.total_votes') }}
            as oth_share,
        coalesce(electoral_vote.dem_electoral_votes, 0)
            as dem_electoral_votes,
        coalesce(electoral_vote.rep_electoral_votes, 0)
            as rep_electoral_votes,
        coalesce(electoral_vote.oth_electoral_votes, 0)
            as oth_electoral_votes,
        coalesce(electoral_vote.unassigned_electoral_votes, 0)
            as unassigned_electoral_votes,
        electoral_vote.winner_party,
        electoral_vote.winner_candidate_name,
        coalesce(turnout.eligible, 0) as eligible,
        coalesce(turnout.voted, 0) as voted,
        {{ divide('turnout.voted', 'turnout.eligible') }} as turnout_rate,
        turnout.official_votes,
        turnout.official_eligible,
        {{ divide('turnout.official_votes', 'turnout.official_eligible') }}
            as official_turnout_rate
    from elections
    left join popular_vote
        on elections.election_id = popular_vote.election_id
    left join electoral_vote
        on elections.election_id = electoral_vote.election_id
    left join turnout
        on elections.election_id = turnout.election_id

)

select * from final
