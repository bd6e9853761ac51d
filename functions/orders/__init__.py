"""Orders service: the order API, the transactional outbox, the read model and the saga's
order steps."""
