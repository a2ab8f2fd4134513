"""Local stand-ins of every outside service the demo, the tests and the benchmarks talk to, one
module each: `x/` (the X API v2 network, `SandboxServer`), `slack`, `statuspage`, `issuetracker`
(GitLab), `forum` (Discourse) and `helpdesk` (Zendesk), the last four over `base.ContractServer`."""
