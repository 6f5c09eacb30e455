"""Encryption of source credentials at rest (Fernet)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

KEY_FILE = "secret.key"


class VaultError(RuntimeError):
    pass


def load_key(home: Path) -> SecretStr | None:
    """The Fernet key from ``HOME/secret.key``, or None when there is no such file."""
    path = home / KEY_FILE
    if path.exists():
        return SecretStr(path.read_text().strip())
    return None


def load_or_create_key(home: Path) -> SecretStr:
    """The Fernet key from ``HOME/secret.key``, created with mode 0600 on first use."""
    path = home / KEY_FILE
    existing = load_key(home)
    if existing is not None:
        return existing
    home.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return SecretStr(key)


class Vault:
    """Encrypts and decrypts a source's secrets. Its repr never shows the key."""

    def __init__(self, key: SecretStr) -> None:
        try:
            self._fernet = Fernet(key.get_secret_value().encode())
        except (ValueError, TypeError) as exc:
            raise VaultError("HEADWATER_SECRET_KEY is not a valid Fernet key (44 url-safe base64 characters)") from exc

    def encrypt(self, secrets: dict[str, Any]) -> str:
        plain = {k: (v.get_secret_value() if isinstance(v, SecretStr) else v) for k, v in secrets.items()}
        return self._fernet.encrypt(json.dumps(plain).encode()).decode()

    def decrypt(self, token: str) -> dict[str, Any]:
        if not token:
            return {}
        try:
            data: dict[str, Any] = json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise VaultError(
                "cannot decrypt source credentials: HEADWATER_SECRET_KEY differs from the key they were stored with"
            ) from exc
        return data

    def __repr__(self) -> str:
        return "Vault(<key hidden>)"
