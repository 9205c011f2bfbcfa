"""Names of the events the consumer flows emit and the automations match."""

LAG_EVENT = "election.consumer.lag"
"""A consumer group's lag, from its flow; resource `election.consumer.<group>`."""

DEAD_LETTER_EVENT = "election.dead_letter.count"
"""A dead-letter topic's size, from a consumer; resource `election.dead-letter.vote`."""

OVER_THRESHOLD = "election.over-threshold"
"""Resource label of both events: `true` when the figure is above its threshold.

Prefect triggers match labels, not numbers in a payload, so the flows compare
each figure with its threshold themselves.
"""
