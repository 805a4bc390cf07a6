"""logpipe: the log pipeline's configs and the tooling that proves them (LogQL engine, rule tests, lint)."""
