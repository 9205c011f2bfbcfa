"""Names of the events the flows emit and the automations match, and the heartbeat."""

LAG_EVENT = "election.consumer.lag"
"""A consumer group's lag, from its flow; resource `election.consumer.<group>`."""

DEAD_LETTER_EVENT = "election.dead_letter.count"
"""A dead-letter topic's size, from a consumer; resource `election.dead-letter.vote`."""

OVER_THRESHOLD = "election.over-threshold"
"""Resource label of both events: `true` when the figure is above its threshold.

Prefect triggers match labels, not numbers in a payload, so the flows compare
each figure with its threshold themselves.
"""

HEARTBEAT_S = 30
"""Seconds between the heartbeats of every flow run; the zombie automation waits 3.

Prefect's own default is 180 s, which the automation would take for a dead
process: every flow process, a worker's or one started by hand, uses this.
"""
