"""Serve the app for an e2e or demo run: werkzeug, threaded, on 127.0.0.1 and a free port.

`python -m logpipe.e2e.appserver --flow-ttl SECONDS` prints `port=N` once listening. Events go
to $EVENT_LOG only. The OAuth flow lifetime (OAUTH_FLOW_TTL, 10 minutes by default) is shortened
so that the traffic generator hits an expired flow without waiting ten minutes.
"""
from __future__ import annotations

import argparse
import sys

from werkzeug.serving import make_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m logpipe.e2e.appserver")
    parser.add_argument("--flow-ttl", type=float, required=True, help="OAuth flow lifetime, seconds")
    args = parser.parse_args(argv)

    from app import create_app

    app = create_app({"EVENT_STREAM": None, "OAUTH_FLOW_TTL": f"{args.flow_ttl}s"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"port={server.port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
