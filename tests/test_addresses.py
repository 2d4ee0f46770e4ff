"""What the API does with an address or a query it does not know (issue 17, items 1, 3 and 7):
every answer is the errors' list shape, an undeclared query parameter is a 422 naming it, and
a trailing slash is neither a silent 307 nor a bare "Not Found"."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import app

client = TestClient(app)
BODY = {"expression": "x * y", "inputs": {"x": 3, "y": -2}}


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("POST", "/api/v1/circuits/evaluate?fields=gradients", "fields"),
        ("POST", "/api/v1/circuits/evaluate?format=compact", "format"),
        ("GET", "/api/v1/gates?verbose=1", "verbose"),
        ("GET", "/api/v1/presets?id=add_mul", "id"),
        ("POST", "/api/v1/landscape/loss?W=1", "W"),
    ],
)
def test_an_undeclared_query_parameter_is_a_422_naming_it(
    method: str, path: str, name: str
) -> None:
    response = client.request(method, path, json=BODY)
    assert response.status_code == 422
    endpoint = path.split("?")[0]
    assert response.json() == {
        "detail": [
            {
                "type": "unknown_query_parameter",
                "loc": ["query", name],
                "msg": f"unknown query parameter {name!r}: {endpoint} takes none "
                "(request options go in the JSON body)",
            }
        ],
        "title": "Unprocessable Content",
        "status": 422,
    }


def test_without_a_query_the_same_requests_answer() -> None:
    assert client.post("/api/v1/circuits/evaluate", json=BODY).json()["output"]["value"] == -6
    assert client.get("/api/v1/gates").status_code == 200
    # pages and probes keep their query strings (a page's state may live there)
    assert client.get("/landscape?dataset=cs231n-1d").status_code == 200
    assert client.get("/healthz?probe=1").status_code == 200


def test_a_trailing_slash_on_the_api_says_where_the_endpoint_is() -> None:
    response = client.post("/api/v1/circuits/evaluate/", json=BODY, follow_redirects=False)
    assert response.status_code == 404
    assert response.json()["detail"] == [
        {
            "type": "not_found",
            "loc": ["path"],
            "msg": "no endpoint here: /api/v1/circuits/evaluate (no trailing slash) is one",
        }
    ]


def test_a_trailing_slash_on_a_page_redirects_keeping_the_query() -> None:
    response = client.get("/landscape/?dataset=cs231n-1d", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/landscape?dataset=cs231n-1d"


def test_an_unknown_address_is_a_404_in_the_list_shape_without_echoing_it() -> None:
    response = client.get("/api/v1/<b>nothing</b>/")
    assert response.status_code == 404
    assert response.json()["detail"][0]["type"] == "not_found"
    assert "<b>" not in response.text


def test_the_page_reads_the_errors_list_for_a_404() -> None:
    # the front end's ApiError takes detail[0].msg: a list, as for every other error
    detail = client.get("/api/v1/nothing").json()["detail"]
    assert isinstance(detail, list) and isinstance(detail[0]["msg"], str)
