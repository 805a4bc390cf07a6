"""`python -m logpipe lint`: every LogQL expression in the repo, checked by our parser and Grafana's grammar."""
