"""The community forum (Discourse search as JSON): topics related to a post, to point a support
question at, and the forum's category link when none fits. `client.py` is vendor I/O; the
cached services live in `integrations.evidence.services`; `sandbox/forum.py` is its local contract
server."""
