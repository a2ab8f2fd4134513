"""Integrations with the tools the team already uses: Slack first; issue tracker, forum and
status page next. Each is a Django app under this package."""
