"""Evidence for the ticket panel: what the status page, the issue tracker, the forum and the
support helpdesk already say about a post, looked up read-only and cached in the database.

The connectors (`integrations/statuspage/`, `issuetracker/`, `forum/`, `helpdesk/`) do vendor
I/O only; this app holds the shared cache (`EvidenceCache`) and the services the desk calls
(`services.evidence_for_text`). A source that is down, slow or rate limiting us shows up as an
error in the panel and nowhere else."""
