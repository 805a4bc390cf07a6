"""The error raised for an unreadable or invalid rule or test file."""


class ConfigError(Exception):
    """A rule file or test file that cannot be used; the message names the file and the problem."""
