"""The support helpdesk (Zendesk's Search API): solved tickets like a post, to find a resource
to share, as the seed's advocates do with `status:solved`. `client.py` is vendor I/O; the
cached services live in `integrations.evidence.services`; `sandbox/helpdesk.py` is its local
contract server."""
