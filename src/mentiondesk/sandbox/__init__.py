"""A local X API v2 network for the demo, the tests and the benchmarks (`SandboxServer`)."""
