"""Helpers shared by the reliability tests (tests/reliability): production stack, load, seeding, PostgreSQL."""
