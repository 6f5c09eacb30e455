"""Per-request auth for every connector: bearer, basic and header-token.

Each class is an ``httpx.Auth`` that sets one header on every request. Secrets are kept as
:class:`pydantic.SecretStr` and never appear in ``repr()`` (so not in logs or error messages
either); a plain ``str`` given is wrapped at once.

* :class:`BearerAuth` — ``Authorization: Bearer <token>`` (GitHub, Bitbucket access tokens, Aha!, Slack).
* :class:`BasicAuth` — ``Authorization: Basic base64(user:secret)`` (Jira, Bitbucket API tokens);
  a subclass of ``httpx.BasicAuth``, so the header is exactly httpx's.
* :class:`HeaderTokenAuth` — any header carrying a token, with an optional scheme
  (``X-Api-Key: <token>``, ``Authorization: token <token>``).
"""

from __future__ import annotations

from collections.abc import Generator

import httpx
from pydantic import SecretStr

REDACTED = "**********"


def _secret(value: SecretStr | str) -> SecretStr:
    return value if isinstance(value, SecretStr) else SecretStr(value)


class HeaderTokenAuth(httpx.Auth):
    """``<header>: [<scheme> ]<token>`` on every request."""

    def __init__(self, header: str, token: SecretStr | str, *, scheme: str | None = None) -> None:
        if not header or any(c in header for c in ": \r\n"):
            raise ValueError(f"not an HTTP header name: {header!r}")
        self.header = header
        self.scheme = scheme
        self._token = _secret(token)

    def header_value(self) -> str:
        token = self._token.get_secret_value()
        return f"{self.scheme} {token}" if self.scheme else token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self.header] = self.header_value()
        yield request

    def __repr__(self) -> str:
        scheme = f", scheme={self.scheme!r}" if self.scheme else ""
        return f"{type(self).__name__}(header={self.header!r}{scheme}, token={REDACTED})"


class BearerAuth(HeaderTokenAuth):
    """``Authorization: Bearer <token>`` on every request."""

    def __init__(self, token: SecretStr | str) -> None:
        super().__init__("Authorization", token, scheme="Bearer")

    def __repr__(self) -> str:
        return f"BearerAuth(token={REDACTED})"


class BasicAuth(httpx.BasicAuth):
    """``Authorization: Basic …`` from a user name (an email for Atlassian) and a secret."""

    def __init__(self, username: str, secret: SecretStr | str) -> None:
        super().__init__(username, _secret(secret).get_secret_value())
        self.username = username

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, secret={REDACTED})"


__all__ = ["BasicAuth", "BearerAuth", "HeaderTokenAuth"]
