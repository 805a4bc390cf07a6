"""`make demo`: the app, the simulator and traffic for a few minutes, then `python -m logpipe
report` over the event log and PNG charts of both dashboards' panels in var/report/."""
