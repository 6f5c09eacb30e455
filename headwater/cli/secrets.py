"""`headwater secrets rotate-key`: a new Fernet key, every stored secret re-encrypted with it.

Where the key lives decides the steps; nothing is ever unreadable in between:

* the key file in ``HEADWATER_HOME`` (the embedded default): the file first holds the new key
  *and* the old one (processes that re-read it can decrypt both), every secret is re-encrypted
  in one transaction, then the file holds the new key alone. Any failure leaves both keys in it.
* ``HEADWATER_SECRET_KEY`` (production): the command cannot change other processes'
  environment, so it takes two runs. With one key set it prints a new key once and says to set
  ``HEADWATER_SECRET_KEY=NEW,OLD`` everywhere (the first key encrypts, all decrypt). Run again
  with the two keys: every secret is re-encrypted with the first, and the old key may be dropped.
"""

from __future__ import annotations

from typing import Any

import typer
from cryptography.fernet import Fernet
from pydantic import SecretStr

from headwater.cli.context import app_context
from headwater.cli.output import JsonOpt, fail, show
from tenancy import Vault, VaultError
from tenancy.rotation import reencrypt_all
from tenancy.vault import KEY_FILE, split_keys, write_key_file

secrets_app = typer.Typer(help="The key that encrypts stored credentials.", no_args_is_help=True)


@secrets_app.command("rotate-key")
def rotate_key(as_json: bool = JsonOpt) -> None:
    """A new Fernet key; every stored secret re-encrypted (the old key still read until done)."""
    with app_context() as app:
        settings = app.settings
        if settings.secret_key is not None:
            doc = _rotate_env(app, split_keys(settings.secret_key.get_secret_value()))
        else:
            doc = _rotate_file(app)
        show(doc, as_json)


def _rotate_file(app: Any) -> dict[str, Any]:
    home = app.settings.home
    path = home / KEY_FILE
    old = split_keys(path.read_text()) if path.exists() else []
    if not old:
        fail(f"no key file at {path}: nothing to rotate")
    new = Fernet.generate_key().decode()
    write_key_file(home, [new, *old])  # from here on, processes reading the file know both keys
    vault = Vault(SecretStr(",".join([new, *old])))
    try:
        with app.db.session() as s:
            count = reencrypt_all(s, vault)
    except VaultError as exc:
        fail(f"{exc}; nothing was re-encrypted and {path} holds the new key and the old ones (all still read)")
    write_key_file(home, [new])
    return {
        "rotated": True,
        "re_encrypted": count,
        "key_file": str(path),
        "next": "restart long-running processes (serve, worker, scheduler) to drop the old key from memory",
    }


def _rotate_env(app: Any, keys: list[str]) -> dict[str, Any]:
    if len(keys) == 1:
        new = Fernet.generate_key().decode()
        return {
            "rotated": False,
            "re_encrypted": 0,
            "new_key": new,
            "next": (
                "set HEADWATER_SECRET_KEY to the new key, a comma, then the current key (NEW,OLD) on every "
                "process (API, workers, scheduler, Dask workers), restart them, then run "
                "`headwater secrets rotate-key` again to re-encrypt every secret with the new key; "
                "this new key is shown only once"
            ),
        }
    with app.db.session() as s:
        count = reencrypt_all(s, app.vault)
    return {
        "rotated": True,
        "re_encrypted": count,
        "next": (
            f"every secret is encrypted with the first key of HEADWATER_SECRET_KEY; the other {len(keys) - 1} "
            "may now be dropped: set HEADWATER_SECRET_KEY to the first key alone"
        ),
    }
