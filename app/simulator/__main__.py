"""Run the simulator: `python -m app.simulator [--host 127.0.0.1] [--port 5001]`."""
from __future__ import annotations

import argparse
import os
import sys

from werkzeug.serving import make_server

from . import create_simulator_app


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, print the URL on one line, serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m app.simulator", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("SIMULATOR_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=os.environ.get("SIMULATOR_PORT", "5001"))
    args = parser.parse_args(argv)
    try:
        app = create_simulator_app()
    except ValueError as exc:
        print(f"simulator: bad configuration: {exc}", file=sys.stderr)
        return 2
    try:
        server = make_server(args.host, args.port, app, threaded=True)
    except OSError as exc:
        print(f"simulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(f"Basecamp simulator running on http://{args.host}:{server.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
