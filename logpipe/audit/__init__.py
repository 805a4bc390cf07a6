"""`python -m logpipe audit`: the spec's audit trail (FR-016) as LogQL, over a log file or a Loki.

`catalogue` defines each audit once (its LogQL is in `LOGQL_QUERIES`); `lokidata` reads Loki's
`query_range` JSON, the one shape both sources produce (`filesource` through the engine,
`loki` through Loki's HTTP API); `run` turns results into rows and `output` prints them.
"""
