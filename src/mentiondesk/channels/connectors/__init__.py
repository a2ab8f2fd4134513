"""Network connectors: one module per network, vendor I/O only (see base.py).

CONNECTED_NETWORKS is the one place that says which networks have a connector: the policy
refuses a handle on any other network, and the desk never hands such a handle to another
network's connector. A new connector (mastodon.py) adds its network here."""

from __future__ import annotations

CONNECTED_NETWORKS: tuple[str, ...] = ("x",)


def network_unsupported_reason(network: str) -> str | None:
    """Why the desk cannot speak to `network` (no connector for it yet), or None when it can."""
    if network in CONNECTED_NETWORKS:
        return None
    return (
        f"network {network!r} is not supported yet (no connector for it); "
        f"supported networks: {', '.join(CONNECTED_NETWORKS)}"
    )
