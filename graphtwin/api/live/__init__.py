"""GraphQL: live values, history, bindings, subscriptions and writes."""
