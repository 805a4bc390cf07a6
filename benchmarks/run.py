"""`make bench`: run every benchmark on this machine and write benchmarks/results.md."""
from pathlib import Path

from benchmarks import app_bench, emit_bench, logql_bench
from benchmarks.machine import describe

RESULTS = Path(__file__).with_name("results.md")


def main() -> None:
    sections = [module.run() for module in (app_bench, emit_bench, logql_bench)]
    text = "\n".join(["# Benchmark results", "", describe(),
                      "Figures are medians measured on this machine in this run, not promises.", "", *sections])
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
