"""Slack as an outbox: messages to the team's channels are stored first and posted by a worker,
so Slack being down or slow never blocks an agent."""
