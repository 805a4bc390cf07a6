"""promtool-style unit tests for Loki ruler rule files (`python -m logpipe rules test`)."""
