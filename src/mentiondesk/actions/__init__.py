"""Actions that span domain floors (Zulip's `zerver/actions/`): one floor above sla,
integrations and the apps below them, so an action can change a ticket or apply a policy and
refresh the SLA clocks that follow from it in the same transaction, or record an SLA breach
and announce it in Slack. The domain apps below never import this package."""
