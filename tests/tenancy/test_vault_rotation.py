"""Several keys in one key setting (MultiFernet), re-encryption, and a vault that follows its key file."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from tenancy import Vault, VaultError, load_key
from tenancy.vault import write_key_file


def key() -> str:
    return Fernet.generate_key().decode()


def test_the_first_key_encrypts_and_every_key_decrypts() -> None:
    old, new = key(), key()
    stored = Vault(SecretStr(old)).encrypt({"token": "t"})
    both = Vault(SecretStr(f"{new},{old}"))
    assert both.decrypt(stored) == {"token": "t"}
    rotated = both.rotate(stored)
    assert Vault(SecretStr(new)).decrypt(rotated) == {"token": "t"}
    with pytest.raises(VaultError):
        Vault(SecretStr(old)).decrypt(rotated)
    with pytest.raises(VaultError):
        Vault(SecretStr(key())).rotate(stored)
    with pytest.raises(VaultError, match="not a valid Fernet key"):
        Vault(SecretStr(f"{new},nope"))


def test_a_vault_with_reload_follows_a_rotated_key_file(tmp_path: Path) -> None:
    old, new = key(), key()
    write_key_file(tmp_path, [old])
    vault = Vault(load_key(tmp_path) or SecretStr(""), reload=lambda: load_key(tmp_path))
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    write_key_file(tmp_path, [new, old])
    rotated = Vault(SecretStr(f"{new},{old}")).rotate(vault.encrypt({"a": 1}))  # encrypt re-reads: new key
    write_key_file(tmp_path, [new])
    assert vault.decrypt(rotated) == {"a": 1}  # a long-running process re-reads the file
    assert Vault(SecretStr(new)).decrypt(vault.encrypt({"b": 2})) == {"b": 2}  # and writes with the new key


def test_an_app_on_the_key_file_follows_a_rotation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from headwater.app import App
    from headwater.settings import Settings

    monkeypatch.delenv("HEADWATER_SECRET_KEY", raising=False)
    app = App.create(Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path}/hw.db"))
    try:
        old = (tmp_path / "secret.key").read_text().strip()
        new = key()
        rotated = Vault(SecretStr(f"{new},{old}")).rotate(app.vault.encrypt({"t": "x"}))
        write_key_file(tmp_path, [new])  # what rotate-key leaves behind
        assert app.vault.decrypt(rotated) == {"t": "x"}
    finally:
        app.close()
