"""The feedback store's schema, as Alembic migrations (run by digits.feedback_store.migrate)."""
