"""Each page is parsed once: the JSON check of HttpClient.request keeps the document it decoded."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from connectors.http.client import HttpClient

PAGE = [{"id": i, "title": f"pr {i}"} for i in range(50)]


def page(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=PAGE)


def count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = json.loads

    def loads(s: Any, **kw: Any) -> Any:
        calls.append(1)
        return real(s, **kw)

    monkeypatch.setattr(json, "loads", loads)  # httpx decodes with json.loads
    return calls


def test_a_page_read_by_request_then_json_is_decoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_decodes(monkeypatch)

    async def go() -> tuple[Any, Any]:
        async with HttpClient("https://api.example.test", transport=httpx.MockTransport(page)) as http:
            response = await http.request("GET", "/pulls")
            return response.json(), response.json()

    first, second = asyncio.run(go())
    assert first == PAGE and second == PAGE
    assert len(calls) == 1


def test_get_json_decodes_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_decodes(monkeypatch)

    async def go() -> Any:
        async with HttpClient("https://api.example.test", transport=httpx.MockTransport(page)) as http:
            return await http.get_json("/pulls")

    assert asyncio.run(go()) == PAGE
    assert len(calls) == 1


def test_a_body_not_checked_as_json_is_parsed_as_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    async def go() -> Any:
        async with HttpClient("https://api.example.test", transport=httpx.MockTransport(page)) as http:
            response = await http.request("GET", "/pulls", expect_json=False)
            return response.json()

    assert asyncio.run(go()) == PAGE
