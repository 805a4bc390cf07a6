"""The README's generated block: the environment-variable table, taken from app/config.py's docstring."""
import re

import app.config
from logpipe.monitoring.config import REPO_ROOT

README_FILE = REPO_ROOT / "README.md"
_BLOCK = re.compile(r"(<!-- env-table:start[^>]*-->\n).*?(<!-- env-table:end -->)", re.S)


def env_table() -> str:
    """The markdown table of app/config.py's docstring (its lines starting with `|`)."""
    return "".join(line + "\n" for line in (app.config.__doc__ or "").splitlines() if line.startswith("|"))


def render() -> str:
    """README.md with its environment table block filled in."""
    text = README_FILE.read_text(encoding="utf-8")
    if not _BLOCK.search(text):
        raise ValueError("README.md lost its <!-- env-table:start --> … <!-- env-table:end --> block")
    return _BLOCK.sub(lambda m: m.group(1) + env_table() + m.group(2), text)
