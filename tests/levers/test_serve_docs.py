"""`headwater serve` says where it listens and logs each request; /docs and /redoc load every
asset from the app itself (no CDN)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urljoin

import httpx
from fastapi.testclient import TestClient

from headwater.api import create_api
from headwater.app import App

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


def assets_of(html: str) -> list[str]:
    return [a or b for a, b in ASSET.findall(html)]


def test_docs_and_redoc_load_every_asset_from_the_app(hw: App) -> None:
    with TestClient(create_api(hw)) as client:
        for page in ("/docs", "/redoc"):
            r = client.get(page)
            assert r.status_code == 200, page
            refs = assets_of(r.text)
            assert any(x.endswith(".js") for x in refs), (page, refs)
            for ref in refs:
                assert not ref.startswith(("http://", "https://", "//")), f"{page} loads {ref} from elsewhere"
                got = client.get(urljoin(page, ref))
                assert got.status_code == 200 and got.content, (page, ref)
        assert client.get("/openapi.json").json()["info"]["title"] == "Headwater"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_logs_its_url_and_an_access_line(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")},
        "HEADWATER_HOME": str(tmp_path / "hw"),
    }
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "headwater", "serve", "--port", str(port)], stderr=out, stdout=out, env=env
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError(log.read_text())
        time.sleep(0.3)
        text = log.read_text()
        assert f"http://127.0.0.1:{port}" in text and "HEADWATER_ADMIN_TOKEN" in text
        assert re.search(r'"GET /healthz HTTP/1.1" 200', text), text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
