"""The engine's exceptions: syntax (with position), unsupported constructs, evaluation errors."""


class LogQLError(Exception):
    """Base of every error the engine raises; `str()` is the message shown to users."""


class LogQLSyntaxError(LogQLError):
    """A query that does not parse; `pos` is the 0-based offset in the query (col = pos + 1 on line 1),
    `str()` is "parse error at line L, col C: <msg>" as Loki prints it."""

    def __init__(self, message: str, pos: int, query: str = "") -> None:
        self.message = message
        self.pos = pos
        before = query[:pos] if query else ""
        self.line = before.count("\n") + 1
        self.col = (pos - (before.rfind("\n") + 1) if query else pos) + 1
        super().__init__(f"parse error at line {self.line}, col {self.col}: {message}")


class UnsupportedLogQL(LogQLError):
    """Valid LogQL this engine does not implement; refused rather than answered wrongly."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"unsupported LogQL: {what}")
