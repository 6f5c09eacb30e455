"""connectors/http/auth.py: the one auth module every connector uses (bearer, basic, header-token)."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest
from pydantic import SecretStr

from connectors.http.auth import BasicAuth, BearerAuth, HeaderTokenAuth
from connectors.registry import KINDS, get_connector
from tests.connectors.providers import MISSING, PROVIDERS, no_case_for


def _sent_headers(auth: httpx.Auth) -> httpx.Headers:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        client.get("https://api.example.test/x")
        client.get("https://api.example.test/y")
    assert len(seen) == 2
    assert seen[0].headers.get("authorization") == seen[1].headers.get("authorization")
    return seen[1].headers


@pytest.mark.parametrize("token", ["s3cr3t-token", SecretStr("s3cr3t-token")])
def test_bearer_sets_the_header_on_every_request(token: str | SecretStr) -> None:
    assert _sent_headers(BearerAuth(token))["authorization"] == "Bearer s3cr3t-token"


def test_basic_is_exactly_httpx_basic() -> None:
    ours = _sent_headers(BasicAuth("ann@example.com", SecretStr("pä55")))["authorization"]
    assert ours == _sent_headers(httpx.BasicAuth("ann@example.com", "pä55"))["authorization"]
    assert base64.b64decode(ours.removeprefix("Basic ")).decode() == "ann@example.com:pä55"
    assert isinstance(BasicAuth("a", "b"), httpx.BasicAuth)


def test_header_token_with_and_without_scheme() -> None:
    assert _sent_headers(HeaderTokenAuth("X-Api-Key", "k3y"))["x-api-key"] == "k3y"
    plain = _sent_headers(HeaderTokenAuth("X-Api-Key", "k3y"))
    assert "authorization" not in plain
    assert _sent_headers(HeaderTokenAuth("Authorization", "k3y", scheme="token"))["authorization"] == "token k3y"


@pytest.mark.parametrize("bad", ["", "X Api", "X:Api", "X\nApi"])
def test_header_token_refuses_a_bad_header_name(bad: str) -> None:
    with pytest.raises(ValueError, match="header"):
        HeaderTokenAuth(bad, "k3y")


@pytest.mark.parametrize(
    "auth",
    [BearerAuth("s3cr3t"), BasicAuth("ann", "s3cr3t"), HeaderTokenAuth("X-Api-Key", SecretStr("s3cr3t"))],
    ids=["bearer", "basic", "header"],
)
def test_the_secret_never_shows_in_repr_str_or_logs(auth: httpx.Auth, caplog: pytest.LogCaptureFixture) -> None:
    assert "s3cr3t" not in repr(auth) and "s3cr3t" not in str(auth)
    assert "**********" in repr(auth)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("headwater.test").info("auth is %r / %s", auth, auth)
    assert "s3cr3t" not in caplog.text


# One (kind, secrets, the Authorization header expected) per credential form of every connector,
# from each kind's tests/<kind>/cases.py.
FORMS = [(p.kind, f.secrets, f.header) for p in PROVIDERS for f in p.auth_forms]


def test_every_registered_connector_has_a_credential_form_here() -> None:
    assert MISSING == [], no_case_for(MISSING)
    assert set(KINDS) == {kind for kind, _, _ in FORMS}


@pytest.mark.parametrize(("kind", "secrets", "header"), FORMS, ids=[f"{k}-{sorted(s)[0]}" for k, s, _ in FORMS])
def test_every_connector_authenticates_through_the_shared_module(
    kind: str, secrets: dict[str, str], header: str
) -> None:
    connector = get_connector(kind)
    auth = connector.auth(connector.secrets_model.model_validate(secrets))
    assert isinstance(auth, (BearerAuth, BasicAuth, HeaderTokenAuth))
    assert _sent_headers(auth)["authorization"] == header
    for secret in secrets.values():
        if "@" not in secret:
            assert secret not in repr(auth)
