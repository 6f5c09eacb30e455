"""Secrets are encrypted at rest and never shown: database, logs, repr, errors, JSON."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import inspect, select, text

from headwater.settings import Settings
from storage import Database
from storage.models import ApiToken, Source
from tenancy import (
    TenancyError,
    Vault,
    VaultError,
    add_source,
    add_tenant,
    create_token,
    load_or_create_key,
    runtime_for,
    source_view,
    tenant_for_token,
)

SECRET = "ghp_TopSecretValue0123456789abcdef"
OPTIONS = {"base_url": "https://api.github.com", "org": "acme"}


def dump_all_tables(db: Database) -> str:
    out = []
    with db.engine.connect() as conn:
        for table in inspect(db.engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                out.append(repr(tuple(row)))
    return "\n".join(out)


def test_secret_never_in_clear_in_any_table_nor_logs(
    any_db: Database, vault: Vault, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)  # statements and parameters
    try:
        with any_db.session() as s:
            t = add_tenant(s, "acme")
            src = add_source(s, vault, t, "github", OPTIONS, {"token": SECRET})
            token = create_token(s, t)
            sid = src.id
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    dump = dump_all_tables(any_db)
    assert SECRET not in dump and token not in dump
    assert "INSERT INTO" in caplog.text  # statements and their parameters were logged
    assert SECRET not in caplog.text and token not in caplog.text
    with any_db.session() as s:
        src = s.get(Source, sid)
        assert src is not None
        assert SECRET not in repr(src) and SECRET not in str(source_view(src))
        rt = runtime_for(src, vault)
        assert rt.secrets.token.get_secret_value() == SECRET  # type: ignore[attr-defined]
        assert SECRET not in repr(rt) and SECRET not in repr(rt.secrets) and SECRET not in rt.secrets.model_dump_json()
        hashed = s.execute(select(ApiToken.token_hash)).scalar_one()
        assert hashed != token and len(hashed) == 64
        found = tenant_for_token(s, token)
        assert found is not None and found.slug == "acme"
        assert tenant_for_token(s, token + "x") is None


def test_validation_errors_never_echo_secret_values(sqlite_db: Database, vault: Vault) -> None:
    with sqlite_db.session() as s:
        t = add_tenant(s, "acme")
        with pytest.raises(TenancyError) as err:
            add_source(s, vault, t, "github", OPTIONS, {"token": SECRET, "password": SECRET})
    assert SECRET not in str(err.value) and "unknown secret 'password'" in str(err.value)


def test_key_file_created_0600_and_wrong_key_is_a_clear_error(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "home")
    mode = stat.S_IMODE((tmp_path / "home" / "secret.key").stat().st_mode)
    assert mode == 0o600
    assert load_or_create_key(tmp_path / "home").get_secret_value() == key.get_secret_value()
    sealed = Vault(key).encrypt({"token": SECRET})
    with pytest.raises(VaultError, match="HEADWATER_SECRET_KEY differs"):
        Vault(SecretStr(Fernet.generate_key().decode())).decrypt(sealed)
    with pytest.raises(VaultError, match="not a valid Fernet key"):
        Vault(SecretStr("short"))


def test_settings_repr_hides_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_SECRET_KEY", "k" * 44)
    monkeypatch.setenv("HEADWATER_ADMIN_TOKEN", "admin-" + SECRET)
    settings = Settings()
    assert SECRET not in repr(settings) and "k" * 44 not in repr(settings)
    assert SECRET not in str(Vault(SecretStr(Fernet.generate_key().decode())))
