"""Monitoring as code: LogQL queries and thresholds written once (`queries`), rendered as Loki
rule files, Grafana dashboards, the runbook and rule tests by `python -m logpipe.monitoring.generate`."""
