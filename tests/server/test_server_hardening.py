"""Hardening against slow, costly and malformed requests, through real uvicorn servers on 127.0.0.1.

Slow uploads get 408 and a closed connection, unauthenticated uploads 401 before their body is read, costly
requests 422 (alone) or 429 + Retry-After (beside others), non-finite numbers / 16-bit images / persons missing
from the mask 422; 405 says which methods are allowed; the OpenAPI body names the parts' types and limits.
"""

from __future__ import annotations

import io
import json
import select
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from urllib.parse import urlparse

import numpy as np
import pytest
import requests
from PIL import Image

from refine_server.cost import RequestCost
from refine_server.model_card import ModelCard
from refine_server.settings import Settings
from tests.server.conftest import Scene, make_scene, png_bytes, running_server
from tests.server.helpers import GatedModel, err, parked_request, parts, post

TOKEN = "t0ken"
AUTH = f"Authorization: Bearer {TOKEN}\r\n".encode()


@pytest.fixture(scope="module")
def guarded(checkpoint_dir) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Token + short read timeouts."""
    s = Settings(
        model=str(checkpoint_dir),
        device="cpu",
        token=TOKEN,
        header_timeout_s=1.0,
        body_idle_timeout_s=0.5,
        body_timeout_s=1.5,
    )
    with running_server(s) as base:
        yield base


def _connect(base: str) -> socket.socket:
    u = urlparse(base)
    return socket.create_connection((u.hostname, u.port), timeout=10)


def _read_until_closed(sock: socket.socket, cap_s: float) -> tuple[bytes, bool]:
    """(everything the server sent, whether it closed the connection within cap_s)."""
    got, deadline = b"", time.monotonic() + cap_s
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([sock], [], [], left)
        if not ready:
            break
        chunk = sock.recv(65536)
        if not chunk:
            return got, True
        got += chunk
    return got, False


def _head(length: int, auth: bool = True) -> bytes:
    return (
        b"POST /v1/refine HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=zz\r\n"
        + (AUTH if auth else b"")
        + f"Content-Length: {length}\r\n\r\n".encode()
    )


def _status(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.1 ") else -1


def test_stalled_body_gets_408_and_the_connection_closes(guarded: str) -> None:
    with _connect(guarded) as s:
        s.sendall(_head(100_000) + b"--zz")
        got, closed = _read_until_closed(s, cap_s=20)
    assert _status(got) == 408 and b"request_timeout" in got and closed


def test_trickled_body_is_cut_at_the_total_deadline(guarded: str) -> None:
    """One byte every 0.2 s never trips the 0.5 s idle timeout; the 1.5 s body deadline still ends it."""
    with _connect(guarded) as s:
        s.sendall(
            _head(100_000) + b'--zz\r\nContent-Disposition: form-data; name="image"; filename="i.png"\r\n'
            b"Content-Type: image/png\r\n\r\n"
        )  # then the file's bytes, one at a time
        got, t0 = b"", time.monotonic()
        while time.monotonic() - t0 < 20:
            if select.select([s], [], [], 0.2)[0]:
                got, _ = _read_until_closed(s, cap_s=5)
                break
            s.sendall(b"x")
    assert _status(got) == 408 and b"within 1.5 s" in got


def test_stalled_headers_get_408_and_the_connection_closes(guarded: str) -> None:
    with _connect(guarded) as s:
        s.sendall(b"POST /v1/refine HTTP/1.1\r\nHost: t\r\n")
        got, closed = _read_until_closed(s, cap_s=20)
    assert _status(got) == 408 and closed


def _trickle_until_closed(sock: socket.socket, cap_s: float) -> tuple[bytes, bool]:
    """Send one body byte every 0.2 s, read what comes back: (bytes, whether the server closed within cap_s)."""
    got, t0 = b"", time.monotonic()
    while time.monotonic() - t0 < cap_s:
        try:
            if select.select([sock], [], [], 0.2)[0]:
                chunk = sock.recv(65536)
                if not chunk:
                    return got, True
                got += chunk
            sock.sendall(b"x")
        except OSError:  # reset: the server closed while bytes were on the way
            return got, True
    return got, False


def test_auth_is_checked_before_the_body_is_read(guarded: str) -> None:
    """No token: 401 as soon as the headers are in, and the connection is closed although the client keeps
    sending its (10 MB) body; before, the 401 came and the connection stayed open as long as bytes trickled."""
    with _connect(guarded) as s:
        s.sendall(_head(10_000_000, auth=False))
        answer, closed = _read_until_closed(s, cap_s=3)  # the 401 arrives with none of the body sent
        if not closed:
            _, closed = _trickle_until_closed(s, cap_s=10)
    assert _status(answer) == 401 and b"unauthorized" in answer and b"connection: close" in answer.lower()
    assert closed


def test_method_not_allowed_says_which_are(server: str) -> None:
    r = requests.get(server + "/v1/refine", timeout=10)
    err(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "POST"


def test_openapi_names_part_types_and_limits(server: str) -> None:
    body = requests.get(server + "/openapi.json", timeout=10).json()["paths"]["/v1/refine"]["post"]["requestBody"]
    form = body["content"]["multipart/form-data"]
    assert form["encoding"]["image"]["contentType"] == "image/png, image/jpeg"
    assert form["encoding"]["instances"]["contentType"] == "image/png"
    assert form["encoding"]["annotations"]["contentType"] == "application/json"
    props = form["schema"]["properties"]
    assert props["annotations"]["maxLength"] == Settings().max_annotations_bytes
    assert str(Settings().max_pixels) in props["image"]["description"]
    assert "408" in body["description"] and "429" in body["description"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_principal_point_is_422(server: str, literal: str) -> None:
    sc = make_scene(40, n=2)
    ann = json.loads(sc.annotations)
    ann["camera"]["principal_point"] = ["__X__", "__X__"]
    text = json.dumps(ann).replace('"__X__"', literal).encode()
    m = err(post(server, parts(sc, annotations=text)), 422, "invalid_annotations", "annotations")
    assert "principal_point" in m and "finite" in m


def _png16_rgb(rgb16: np.ndarray) -> bytes:
    """A 16-bit RGB PNG (Pillow cannot write one; Pillow reads it as 8-bit RGB, the defect this pins)."""
    h, w, _ = rgb16.shape
    rows = np.concatenate([np.zeros((h, 1), np.uint8), rgb16.astype(">u2").reshape(h, -1).view(np.uint8)], axis=1)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    idat = zlib.compress(rows.tobytes())
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_16_bit_rgb_image_is_422_not_cut_to_8_bits(server: str) -> None:
    sc = make_scene(41, n=2)
    png16 = _png16_rgb(sc.rgb.astype(np.uint16) * 257)
    assert Image.open(io.BytesIO(png16)).mode == "RGB"  # what the old decoder silently accepted
    m = err(post(server, parts(sc, image=png16)), 422, "unsupported_image", "image")
    assert "16-bit" in m


def test_person_annotated_but_absent_from_the_mask_is_422(server: str) -> None:
    sc = make_scene(42, n=3)
    imap = sc.imap.copy()
    gone = int(imap.max())
    imap[imap == gone] = 0
    m = err(post(server, parts(sc, instances=png_bytes(Image.fromarray(imap)))), 422, "person_not_in_mask", "instances")
    assert str(gone) in m


def _disk_person(claimed_area: int | None = None, size: int = 192) -> Scene:
    """One person: a disk of radius 30 (~2,800 px); ``claimed_area`` replaces its annotated area."""
    sc = make_scene(43, n=1, size=size)
    yy, xx = np.mgrid[0:size, 0:size]
    imap = (((yy - size * 0.3) ** 2 + (xx - size / 2) ** 2) <= 30**2).astype(np.uint16)
    ann = json.loads(sc.annotations)
    ann["persons"][0]["area"] = int(imap.sum()) if claimed_area is None else claimed_area
    return Scene(sc.rgb, imap, json.dumps(ann).encode(), sc.center)


def test_request_over_the_cost_bound_is_422_before_or_after_decoding() -> None:
    crop = 128  # the identity model's input size
    honest, liar = _disk_person(), _disk_person(claimed_area=1)
    area = int(honest.imap.sum())
    claimed_mib, true_mib = (RequestCost(192, 192, 1, a, crop).mib for a in (1, area))
    assert true_mib > claimed_mib * 1.05
    just_under = (claimed_mib + true_mib) / 2  # admits what the liar claims, not what it sends
    with running_server(
        Settings(model="identity", device="cpu", max_request_mib=claimed_mib * 0.9, warmup=False)
    ) as base:
        m = err(post(base, parts(honest)), 422, "request_too_costly")
        assert m.startswith("annotated persons") and "192x192 image, 1 persons" in m
    with running_server(Settings(model="identity", device="cpu", max_request_mib=just_under, warmup=False)) as base:
        m = err(post(base, parts(liar)), 422, "request_too_costly")
        assert m.startswith("instance map") and f"largest {area} px" in m
        assert post(base, parts(make_scene(44, n=1, size=160))).status_code == 200


def test_requests_beyond_the_memory_budget_get_429_with_retry_after() -> None:
    gate = threading.Event()
    card = ModelCard(model_id="gated", architecture="identity", crop_size=32)
    s = Settings(model="identity", device="cpu", memory_budget_mib=1.5, warmup=False, retry_after_s=3)
    sc = make_scene(45, n=2)
    assert 0.75 < RequestCost(192, 192, 2, 600, card.crop_size).mib < 1.5  # one fits the 1.5 MiB budget, two do not
    with running_server(s, model=(GatedModel(gate), card)) as base, parked_request(base, parts(sc), 15) as first:
        r = post(base, parts(sc))
        assert "of 1.5 MiB" in err(r, 429, "over_capacity")
        assert r.headers["retry-after"] == "3"
        gate.set()
        assert first.result().status_code == 200
        assert post(base, parts(sc)).status_code == 200  # the budget is released after each request
