"""Encryption of source credentials at rest (Fernet; several keys during a rotation).

A key setting (``HEADWATER_SECRET_KEY`` or the key file) may hold several Fernet keys, comma
separated (one a line in the file): the first encrypts, every one decrypts (MultiFernet). That
is how `headwater secrets rotate-key` keeps old secrets readable until each is re-encrypted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

KEY_FILE = "secret.key"


class VaultError(RuntimeError):
    pass


def load_key(home: Path) -> SecretStr | None:
    """The Fernet key from ``HOME/secret.key``, or None when there is no such file."""
    path = home / KEY_FILE
    if path.exists():
        return SecretStr(",".join(split_keys(path.read_text())))
    return None


def split_keys(value: str) -> list[str]:
    """The Fernet keys of a key setting: comma or newline separated, the first one encrypts."""
    return [k.strip() for k in value.replace("\n", ",").split(",") if k.strip()]


def write_key_file(home: Path, keys: list[str]) -> None:
    """Replace ``HOME/secret.key`` atomically (mode 0600) with these keys, one a line."""
    home.mkdir(parents=True, exist_ok=True)
    tmp = home / (KEY_FILE + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(keys) + "\n")
    os.replace(tmp, home / KEY_FILE)


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

    def __init__(self, key: SecretStr, reload: Callable[[], SecretStr | None] | None = None) -> None:
        """``reload`` (optional) returns the key setting as it is now (the key file re-read):
        asked before encrypting and when a secret does not decrypt, so a long-running process
        follows a rotation instead of writing with a retired key."""
        self._reload = reload
        self._key = key.get_secret_value()
        self._fernet = self._build(self._key)

    @staticmethod
    def _build(value: str) -> MultiFernet:
        keys = split_keys(value)
        try:
            if not keys:
                raise ValueError("no key")
            return MultiFernet([Fernet(k.encode()) for k in keys])
        except (ValueError, TypeError) as exc:
            raise VaultError("HEADWATER_SECRET_KEY is not a valid Fernet key (44 url-safe base64 characters)") from exc

    def refresh(self) -> bool:
        """Re-read the key setting through ``reload``; True when it changed."""
        if self._reload is None:
            return False
        fresh = self._reload()
        if fresh is None or fresh.get_secret_value() == self._key:
            return False
        self._fernet = self._build(fresh.get_secret_value())
        self._key = fresh.get_secret_value()
        return True

    @property
    def key_count(self) -> int:
        return len(split_keys(self._key))

    def rotate(self, token: str) -> str:
        """``token`` re-encrypted with the first key (readable by any of the keys)."""
        if not token:
            return token
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise VaultError(
                "cannot decrypt source credentials: none of the keys in HEADWATER_SECRET_KEY (or the key file) "
                "is the one they were stored with"
            ) from exc

    def encrypt(self, secrets: dict[str, Any]) -> str:
        plain = {k: (v.get_secret_value() if isinstance(v, SecretStr) else v) for k, v in secrets.items()}
        self.refresh()
        return self._fernet.encrypt(json.dumps(plain).encode()).decode()

    def decrypt(self, token: str) -> dict[str, Any]:
        if not token:
            return {}
        try:
            data: dict[str, Any] = json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            if self.refresh():
                return self.decrypt(token)
            raise VaultError(
                "cannot decrypt source credentials: HEADWATER_SECRET_KEY differs from the key they were stored with"
            ) from exc
        return data

    def __repr__(self) -> str:
        return "Vault(<key hidden>)"
