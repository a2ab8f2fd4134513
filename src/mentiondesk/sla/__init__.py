"""SLA clocks: targets from the policy, clocks from each ticket's timeline (clock.py, pure),
their state stored per ticket for queues and reports, and breach alerts in Slack."""
