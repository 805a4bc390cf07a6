"""Cost of emitting one FR-016 event beside stdlib logging of a plain string (same sink: /dev/null)."""
import logging
import os
import statistics
import timeit

from app.events import Event, Status, configure, emit

ROUNDS = 15
PER_ROUND = 5000
TARGET_US = 25.0


def _median_us(fn) -> float:
    return statistics.median(timeit.repeat(fn, number=PER_ROUND, repeat=ROUNDS)) / PER_ROUND * 1e6


def measure() -> dict[str, float]:
    """Median µs per call of an FR-016 emit and of a plain stdlib `logger.info` to the same sink."""
    with open(os.devnull, "w") as sink:
        configure(sink)
        plain = logging.getLogger("bench.plain")
        plain.propagate = False
        plain.setLevel(logging.INFO)
        handler = logging.StreamHandler(sink)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        plain.addHandler(handler)
        try:
            fr016 = _median_us(lambda: emit(
                Event.STATUS_CHECK, status=Status.SUCCESS, user_id=42, duration_ms=3.25,
                message="Integration status check | provider=basecamp | duration_ms=3", cache_hit=True))
            stdlib = _median_us(lambda: plain.info("Integration status check | provider=basecamp | duration_ms=%d", 3))
        finally:
            plain.removeHandler(handler)
            configure(None)
    return {"fr016_us": fr016, "stdlib_us": stdlib}


def run() -> str:
    m = measure()
    return "\n".join([
        "## Event emission",
        "",
        f"Median of {ROUNDS} rounds × {PER_ROUND} calls, both to /dev/null.",
        "",
        "| what | median µs/event | ratio to stdlib | target |",
        "|---|---|---|---|",
        f"| FR-016 `emit()` (python-json-logger) | {m['fr016_us']:.1f} | {m['fr016_us'] / m['stdlib_us']:.1f}× | ≤ {TARGET_US:.0f} µs |",
        f"| stdlib `logger.info` plain string | {m['stdlib_us']:.1f} | 1.0× | — |",
        "",
    ])


if __name__ == "__main__":
    print(run())
