"""The status page (Atlassian Statuspage API v2): open incidents and the overall status, as
evidence for mentions about downtime. `client.py` is vendor I/O; the cached services live in
`integrations.evidence.services`; `sandbox/statuspage.py` is its local contract server."""
