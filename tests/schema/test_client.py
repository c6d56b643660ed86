"""shared_schema.client against a real HTTP server on 127.0.0.1 (http.server): Retry-After, bounded retries,
replies parsed with the response models."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import shared_schema.client as client_mod
from shared_schema.client import MAX_RETRY_AFTER_S, RefineClient, RefineError, ServerUnavailable

pytest.importorskip("requests")


@pytest.fixture
def scripted() -> Iterator[tuple[str, list]]:
    """A server that answers each request with the next (status, headers, body) of a list."""
    script: list[tuple[int, dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(n)
            step = script.pop(0) if script else (500, {}, b"script exhausted")
            if isinstance(step, float):  # hang this long without answering
                time.sleep(step)
                return
            status, headers, body = step
            self.send_response(status)
            for k, v in {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers}.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        server.server_close()


BUSY = json.dumps({"error": {"code": "queue_full", "message": "busy"}}).encode()


def test_retry_after_is_honoured_and_capped(scripted, monkeypatch):
    url, script = scripted
    sleeps: list[float] = []
    monkeypatch.setattr(client_mod.time, "sleep", sleeps.append)
    script += [
        (503, {"Retry-After": "7"}, BUSY),
        (503, {"Retry-After": "1e9"}, BUSY),
        (429, {"Retry-After": "nan"}, BUSY),
        (200, {}, b'{"status": "ok"}'),
    ]
    assert RefineClient(url, retries=3, backoff=0.01).health()["status"] == "ok"
    assert sleeps == [7.0, MAX_RETRY_AFTER_S, 0.04]


def test_busy_after_all_retries_says_so(scripted, monkeypatch):
    url, script = scripted
    monkeypatch.setattr(client_mod.time, "sleep", lambda s: None)
    script += [(503, {}, BUSY)] * 3
    with pytest.raises(ServerUnavailable, match="3 attempts: 503 queue_full: busy") as e:
        RefineClient(url, retries=2).health()
    assert e.value.status == 503 and not e.value.unreachable


def test_reply_that_breaks_the_contract_is_refused(scripted):
    url, script = scripted
    script.append((200, {}, b'{"status": "ok", "surprise": 1}'))
    with pytest.raises(RefineError, match="malformed /healthz answer"):
        RefineClient(url, retries=0).health()
    good_ann = b'{"image_id": "x"}'
    script.append((200, {}, json.dumps({"image_id": "x", "model_id": "m"}).encode()))
    with pytest.raises(RefineError, match="malformed response"):
        RefineClient(url, retries=0).refine(b"png", b"png", good_ann)


def test_a_server_that_does_not_answer_counts_as_unreachable(scripted):
    url, script = scripted
    script += [2.0, 2.0]
    with pytest.raises(ServerUnavailable, match="2 attempts: ReadTimeout") as e:
        RefineClient(url, retries=1, backoff=0.01, timeout=0.3, connect_timeout=5).health()
    assert e.value.unreachable  # the batch's circuit breaker counts it like a refused connection
