"""Token encryption at rest: MultiFernet over TOKEN_ENCRYPTION_KEYS (first key encrypts, all decrypt)."""
from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, MultiFernet


class TokenCipher:
    """Encrypt and decrypt token strings; `rotate` re-encrypts a value under the first key."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, value: str) -> str:
        return self._fernet.decrypt(value.encode()).decode()

    def rotate(self, value: str) -> str:
        return self._fernet.rotate(value.encode()).decode()
