"""One table per kind of thing: losses, variants, datasets, optimizers and pages reach every layer."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.routes.pages import PAGES
from app.core.choices import Choice, names
from app.landscape.data import DATASETS
from app.landscape.losses import LOSSES, SVM_VARIANTS
from app.landscape.optimize import OPTIMIZERS

URL = "/api/v1/landscape"
TABLES = {
    "losses": LOSSES,
    "variants": SVM_VARIANTS,
    "datasets": DATASETS,
    "optimizers": OPTIMIZERS,
}


def test_the_tables_hold_the_choices_the_api_has_always_had() -> None:
    assert names(LOSSES) == ("svm", "softmax")
    assert names(SVM_VARIANTS) == ("ww", "ova", "structured")
    assert names(DATASETS) == ("cs231n-1d", "toy-2d", "blobs", "cifar-shaped")
    assert names(OPTIMIZERS) == (
        "random_search",
        "random_local_search",
        "gd",
        "sgd",
        "momentum",
        "adam",
    )
    assert [page.path for page in PAGES] == ["/", "/landscape", "/lessons", "/class", "/join"]


def test_the_catalog_serves_every_table_row(client: TestClient) -> None:
    answer = client.get(f"{URL}/catalog").json()
    assert set(answer) == set(TABLES)
    for key, table in TABLES.items():
        assert answer[key] == [choice.as_dict() for choice in table]
    sgd = answer["optimizers"][3]
    assert sgd["name"] == "sgd" and "batch_size" in sgd["options"]


def _enum(schema: dict[str, Any], model: str, field: str) -> list[str]:
    prop = schema["components"]["schemas"][model]["properties"][field]
    for option in prop.get("anyOf", [prop]):
        if "enum" in option:
            return list(option["enum"])
    raise AssertionError(f"{model}.{field} has no enum")


def test_the_request_schema_lists_exactly_the_table(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert _enum(schema, "LossRequest", "loss") == list(names(LOSSES))
    assert _enum(schema, "LossRequest", "variant") == list(names(SVM_VARIANTS))
    # a dataset is oneOf its kinds: one variant per built-in, named by its `name` const
    variants = schema["components"]["schemas"]["DatasetSpec"]["oneOf"]
    named = [v["properties"]["name"]["const"] for v in variants if "name" in v["properties"]]
    assert named == list(names(DATASETS))
    assert _enum(schema, "OptimizeRequest", "strategy") == list(names(OPTIMIZERS))


def test_a_choice_outside_the_table_is_a_422_naming_the_field(client: TestClient) -> None:
    body = {"dataset": {"name": "cs231n-1d"}, "loss": "hinge2"}
    answer = client.post(f"{URL}/loss", json=body)
    assert answer.status_code == 422
    text = answer.text
    assert "loss" in text and "'svm' or 'softmax'" in text


def _options(html: str, state: str) -> list[tuple[str, str]]:
    select = re.search(rf'<select data-state="{state}"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None, state
    return re.findall(r'<option value="([^"]*)">([^<]*)</option>', select.group(1))


def _unescape(text: str) -> str:
    return text.replace("&#39;", "'")


@pytest.mark.parametrize(
    ("state", "table", "extra"),
    [
        ("loss", LOSSES, []),
        ("variant", SVM_VARIANTS, []),
        ("dataset", DATASETS, [("custom", "my own (CSV)")]),
        ("method", OPTIMIZERS, []),
    ],
)
def test_the_landscape_page_menus_are_rendered_from_the_tables(
    client: TestClient, state: str, table: tuple[Choice, ...], extra: list[tuple[str, str]]
) -> None:
    html = client.get("/landscape").text
    shown = [(value, _unescape(label)) for value, label in _options(html, state)]
    rows = [(choice.name, choice.label) for choice in table] + extra
    # the strategy menu starts with "none" (no path), which is the page's, not an optimizer
    assert [pair for pair in shown if pair[0] != "none"] == rows


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.path)
def test_every_page_is_served_and_the_navigation_lists_every_page(
    client: TestClient, page: Any
) -> None:
    html = client.get(page.path).text
    nav = re.search(r'<nav aria-label="Pages">(.*?)</nav>', html, re.S)
    assert nav is not None
    links = re.findall(r'<a href="([^"]*)" ?(aria-current="page")?>([^<]*)</a>', nav.group(1))
    assert [(href, label) for href, _, label in links] == [(p.path, p.label) for p in PAGES]
    assert [href for href, current, _ in links if current] == [page.path]


# cs231n-1d: x = 1, -2, 0.5 with true classes 0, 1, 2; W = [[1], [0], [0]] gives the scores
# s = [x, 0, 0]. SVM (delta 1): L0 = 0, L1 = max(0, -2 - 0 + 1) + max(0, 0 - 0 + 1) = 1,
# L2 = max(0, 0.5 + 1) + max(0, 0 + 1) = 2.5. Softmax: L_i = log(sum exp s) - s_y.
W1 = [[1.0], [0.0], [0.0]]
HAND = {
    "svm": (0.0 + 1.0 + 2.5) / 3,
    "softmax": (
        (math.log(math.e + 2) - 1.0) + math.log(math.exp(-2.0) + 2) + math.log(math.exp(0.5) + 2)
    )
    / 3,
}


@pytest.mark.parametrize("loss", names(LOSSES))
def test_every_loss_in_the_table_is_computed(client: TestClient, loss: str) -> None:
    body = {"dataset": {"name": "cs231n-1d"}, "W": W1, "loss": loss}
    answer = client.post(f"{URL}/loss", json=body).json()
    assert answer["loss"] == pytest.approx(HAND[loss], rel=1e-12)


@pytest.mark.parametrize("strategy", names(OPTIMIZERS))
def test_every_optimizer_in_the_table_runs(client: TestClient, strategy: str) -> None:
    body = {"dataset": {"name": "toy-2d"}, "strategy": strategy, "steps": 3, "step_size": 0.01}
    answer = client.post(f"{URL}/optimize", json=body).json()
    assert answer["strategy"] == strategy
    assert len(answer["losses"]) == 4  # the start and three steps
    if strategy in ("gd", "random_local_search"):  # never worse than where it started
        assert answer["final_loss"] <= answer["losses"][0]


@pytest.mark.parametrize("dataset", names(DATASETS))
def test_every_dataset_in_the_table_is_served_with_its_description(
    client: TestClient, dataset: str
) -> None:
    listed = {row["name"]: row["description"] for row in client.get(f"{URL}/datasets").json()}
    assert listed[dataset] == next(c.description for c in DATASETS if c.name == dataset)
    spec: dict[str, Any] = {"name": dataset}
    if "n" in next(c.options for c in DATASETS if c.name == dataset):
        spec["n"] = 12
    answer = client.post(f"{URL}/loss", json={"dataset": spec})
    assert answer.status_code == 200, answer.text


def test_the_page_shows_an_input_for_exactly_the_choices_that_read_it(client: TestClient) -> None:
    html = client.get("/landscape").text

    def shown_for(state: str) -> str:
        found = re.search(rf'<label data-show="([^"]*)">[^<]*<input[^>]*data-state="{state}"', html)
        assert found is not None, state
        return found.group(1)

    # hand-listed from the tables: only blobs has d and c, only the minibatch rules a batch,
    # only svm a delta
    assert shown_for("d") == "dataset=blobs"
    assert shown_for("c") == "dataset=blobs"
    assert shown_for("batch") == "method=sgd,momentum,adam"
    assert shown_for("delta") == "loss=svm"


def test_the_landscape_page_carries_the_catalog_for_its_scripts(client: TestClient) -> None:
    html = client.get("/landscape").text
    found = re.search(r"data-catalog='([^']*)'", html)
    assert found is not None
    # Jinja's tojson escapes <, >, & and ' as \u003c ..., so the attribute is plain JSON
    assert json.loads(found.group(1)) == client.get(f"{URL}/catalog").json()


def test_every_page_is_its_template_and_its_own_module(client: TestClient) -> None:
    """A page is its row, its template (extending base.html) and its JS module: the template
    loads one main module of its own (static/js/<page>/main.js), which is served."""
    from app.core.paths import TEMPLATES_DIR

    modules = []
    for page in PAGES:
        template = (TEMPLATES_DIR / page.template).read_text()
        assert template.startswith('{% extends "base.html" %}'), page.template
        html = client.get(page.path).text
        found = re.findall(r'<script type="module" src="(/static/js/[^"?]+)', html)
        assert len(found) == 1 and found[0].endswith("/main.js"), (page.path, found)
        assert client.get(found[0]).status_code == 200
        modules.append(found[0])
    assert len(set(modules)) == len(PAGES)
