"""Large answers are gzipped for clients that accept it (issue 17, item 3), from
BPC_GZIP_MIN_BYTES on: an answer of exactly that many bytes is compressed, one byte less is
not, and the compressed bytes decompress to exactly the plain answer."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.core.config import get_settings
from app.main import create_app

EVALUATE = "/api/v1/circuits/evaluate"
# 300 products summed: a verbose answer of about 600 kB
BODY = {"expression": " + ".join(f"x*{i}" for i in range(300)), "inputs": {"x": 1}}
GZIP = {"accept-encoding": "gzip"}
PLAIN = {"accept-encoding": "identity"}


def app_with(**env: str) -> FastAPI:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        try:
            return create_app()
        finally:
            patch.undo()
            get_settings.cache_clear()


@pytest.fixture(scope="module")
def default_client() -> Iterator[TestClient]:
    """One app with the default settings for the module: each TestClient is a lifespan that
    starts job processes, and these tests only read answers from it."""
    with TestClient(app_with()) as client:
        yield client


@pytest.fixture(scope="module")
def plain_answer(default_client: TestClient) -> bytes:
    response = default_client.post(EVALUATE, json=BODY, headers=PLAIN)
    assert response.status_code == 200 and "content-encoding" not in response.headers
    return response.content


@pytest.mark.parametrize("offset", [0, 1])
def test_the_threshold_at_n_and_one_over(plain_answer: bytes, offset: int) -> None:
    size = len(plain_answer)
    with TestClient(app_with(BPC_GZIP_MIN_BYTES=str(size + offset))) as client:
        response = client.post(EVALUATE, json=BODY, headers=GZIP)
    assert response.status_code == 200
    if offset == 0:  # exactly the threshold: compressed
        assert response.headers["content-encoding"] == "gzip"
        assert int(response.headers["content-length"]) < size // 5
        assert "Accept-Encoding" in response.headers["vary"]
    else:  # one byte under the threshold: sent as it is
        assert "content-encoding" not in response.headers
        assert int(response.headers["content-length"]) == size
    # httpx decodes gzip: the bytes a client reads are the plain answer, byte for byte
    assert response.content == plain_answer
    assert response.headers["x-content-type-options"] == "nosniff"  # headers survive


def test_the_compressed_bytes_are_the_plain_answer(
    default_client: TestClient, plain_answer: bytes
) -> None:
    with default_client.stream("POST", EVALUATE, json=BODY, headers=GZIP) as response:
        raw = b"".join(response.iter_raw())
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(raw) == plain_answer
    assert len(raw) < len(plain_answer) // 5


def test_small_answers_and_clients_without_gzip_get_plain_bytes(
    default_client: TestClient, plain_answer: bytes
) -> None:
    small = default_client.post(EVALUATE, json={"expression": "x*y", "inputs": {"x": 1, "y": 2}})
    plain = default_client.post(EVALUATE, json=BODY, headers=PLAIN)
    assert "content-encoding" not in small.headers
    assert "content-encoding" not in plain.headers and plain.content == plain_answer


def test_zero_turns_compression_off(plain_answer: bytes) -> None:
    with TestClient(app_with(BPC_GZIP_MIN_BYTES="0")) as client:
        response = client.post(EVALUATE, json=BODY, headers=GZIP)
    assert "content-encoding" not in response.headers and response.content == plain_answer


def test_the_level_is_the_setting_and_each_level_gives_the_same_answer(
    default_client: TestClient, plain_answer: bytes
) -> None:
    """BPC_GZIP_LEVEL sets zlib's level (default 1: compression runs on the event loop). The
    bytes on the wire are exactly zlib's at that level, and any level decompresses to the answer."""
    sizes = {}
    for level in ("1", "9"):
        with TestClient(app_with(BPC_GZIP_LEVEL=level)) as client:
            response = client.post(EVALUATE, json=BODY, headers=GZIP)
        assert response.headers["content-encoding"] == "gzip"
        # httpx has already decompressed the body; the raw stream's length is what was sent
        assert response.content == plain_answer
        sizes[level] = int(response.headers["content-length"])
        expected = len(gzip.compress(plain_answer, compresslevel=int(level), mtime=0))
        # the same deflate stream; gzip headers may differ by the optional file name only
        assert abs(sizes[level] - expected) <= 16
    assert sizes["9"] < sizes["1"]
    default = default_client.post(EVALUATE, json=BODY, headers=GZIP)
    assert int(default.headers["content-length"]) == sizes["1"]


@pytest.mark.parametrize("level", ["0", "10"])
def test_a_level_outside_1_to_9_stops_start_up_naming_it(level: str) -> None:
    with pytest.raises(ValueError, match="gzip_level"):
        app_with(BPC_GZIP_LEVEL=level)
