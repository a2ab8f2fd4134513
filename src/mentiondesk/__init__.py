"""mentiondesk: a self-hosted desk for answering everyone who mentions your social accounts."""

__version__ = "0.1.0"
