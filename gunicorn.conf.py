"""gunicorn settings of the service: the Docker image, `make bench` and the load tests all run these.

gunicorn reads this file from its working directory (the repository root, /srv/app in the
image). GUNICORN_WORKERS (worker processes, default 2) and GUNICORN_THREADS (threads per
worker, default 8) size it; the listen address is given on the command line (`--bind`).
The access log goes to stdout; app.RedactFilter strips codes, states and tokens from it.
"""
import os


def _count(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"configuration error: {name} must be a whole number of at least 1, not {raw!r}")
    return int(raw)


wsgi_app = "wsgi:app"
worker_class = "gthread"
workers = _count("GUNICORN_WORKERS", 2)
threads = _count("GUNICORN_THREADS", 8)
accesslog = "-"
# No control socket: nothing here uses gunicornc, and the default path ($HOME/.gunicorn) is
# shared by every gunicorn of the user (the benchmarks and load tests run several at once).
control_socket_disable = True
