"""The issue tracker (a GitLab instance, through python-gitlab): issues related to a post, for
bug reports and feature requests, and the "open a new issue" link. `client.py` is vendor I/O;
the cached services live in `integrations.evidence.services`; `sandbox/issuetracker.py` is its local
contract server."""
