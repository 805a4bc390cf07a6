"""Describe the machine a benchmark ran on (cores, CPU model, memory, Python, date)."""
import os
import platform
from datetime import datetime, timezone


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def describe() -> str:
    """One markdown line naming the machine and the date of the run."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"Machine: {os.cpu_count()} cores ({cpu_model()}), {memory_gib():.0f} GiB RAM, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}; run {now}.")
