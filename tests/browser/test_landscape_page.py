"""The landscape page in Chromium: kinks where the API puts them, term lines, 2-D recentring, paths, circuits."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import screenshot
from tests.browser.test_url_precision import full_number

pytestmark = pytest.mark.browser

CS231N_1D_AXIS = {
    "dataset": {"name": "cs231n-1d"},
    "seed": 0,
    "loss": "svm",
    "variant": "ww",
    "delta": 1,
    "reg": 0,
    "dims": 1,
    "direction": "axis",
    "axis": [0, 0],
    "range": [-3, 3],
    "steps": 201,
}


def api(live_server: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{live_server}/api/v1/landscape/{path}", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def open_page(page: Page, query: str = "") -> None:
    """Loads the page and waits until its first round of requests has been drawn."""
    page.goto(f"/landscape{query}")
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("#ls-error")).to_be_hidden()


def readout(page: Page, key: str) -> Any:
    return json.loads(page.locator(f'#ls-readout dd[data-key="{key}"]').get_attribute("data-value"))


def axis_pixel(page: Page, plot: str, axis: str) -> tuple[float, float]:
    """(pixel of value 0, pixels per unit) of an axis, read from two of its drawn ticks."""
    ticks = page.locator(f"{plot} .{axis} .tick").evaluate_all(
        "ts => ts.map(t => [Number(t.textContent.replace('\u2212', '-')),"
        " t.transform.baseVal.consolidate().matrix.e, t.transform.baseVal.consolidate().matrix.f])"
    )
    (v0, x0, y0), (v1, x1, y1) = ticks[0], ticks[-1]
    p0, p1 = (x0, x1) if axis == "axis-x" else (y0, y1)
    per_unit = (p1 - p0) / (v1 - v0)
    return p0 - v0 * per_unit, per_unit


def test_1d_axis_slice_draws_kinks_where_the_api_says(page: Page, live_server: str) -> None:
    from tests.browser.test_landscape_rays import hinge_lines, kinks_in, loss_at, one_sided_slopes

    expected = api(live_server, "slice", CS231N_1D_AXIS)
    assert len(expected["kinks"]) >= 3  # the notes' figure has several kinks
    # the API's numbers against the hinge formula worked out in the test, at the seeded W
    seeded = api(
        live_server, "loss", {"dataset": {"name": "cs231n-1d"}, "seed": 0, "include_W": True}
    )["W"]
    lines = hinge_lines([row[0] for row in seeded], 0)
    assert [k["alpha"] for k in expected["kinks"]] == pytest.approx(
        [float(k) for k in kinks_in(lines, -3, 3)], abs=1e-12
    )
    open_page(page)
    circles = page.locator(".plot1d circle.kink")
    expect(circles).to_have_count(len(expected["kinks"]))
    drawn = circles.evaluate_all("cs => cs.map(c => [Number(c.dataset.alpha), c.cx.baseVal.value])")
    zero, per_unit = axis_pixel(page, ".plot1d", "axis-x")
    zero += per_unit * seeded[0][0]  # the axis shows W[0, 0]'s own value: a = 0 is W[0, 0]
    for (alpha, cx), kink in zip(sorted(drawn), expected["kinks"], strict=True):
        assert alpha == pytest.approx(kink["alpha"], abs=1e-12)
        # d3 draws ticks half a pixel off for crisp lines; kinks are tens of pixels apart
        assert cx == pytest.approx(zero + per_unit * kink["alpha"], abs=0.6)
    assert readout(page, "kink_count") == expected["kink_count"]
    sub = expected["subgradient"]
    assert readout(page, "subgradient") == pytest.approx([sub["left"], sub["right"]], abs=1e-12)
    assert readout(page, "subgradient") == pytest.approx(
        [float(s) for s in one_sided_slopes(lines)], abs=1e-12
    )
    assert readout(page, "loss") == pytest.approx(expected["origin"]["loss"], rel=1e-12)
    assert readout(page, "loss") == pytest.approx(float(loss_at(lines, 0)), rel=1e-12)
    # hovering a kink shows its two one-sided slopes
    kink = expected["kinks"][0]
    box = page.locator(".plot1d").bounding_box()
    assert box is not None
    scale = box["width"] / 820  # the plot's viewBox width
    page.mouse.move(box["x"] + scale * (zero + per_unit * kink["alpha"]), box["y"] + 200)
    tooltip = page.locator(".plot1d .tooltip")
    expect(tooltip).to_contain_text("kink at a")
    text = (tooltip.text_content() or "").replace("\u2212", "-")
    assert f"slope left {kink['slope_left']:.4g}".replace("e+", "e") in text
    assert f"slope right {kink['slope_right']:.4g}".replace("e+", "e") in text
    # between two kinks the slope is exact: the right slope of the kink before
    between = (expected["kinks"][0]["alpha"] + expected["kinks"][1]["alpha"]) / 2
    page.mouse.move(box["x"] + scale * (zero + per_unit * between), box["y"] + 200)
    expect(tooltip).not_to_contain_text("kink at a")
    text = (tooltip.text_content() or "").replace("\u2212", "-")
    assert f"slope {expected['kinks'][0]['slope_right']:.4g}" in text
    screenshot(page, "landscape-1d-kinks")


def test_term_toggle_draws_one_line_per_hinge_term(page: Page, live_server: str) -> None:
    expected = api(live_server, "slice", CS231N_1D_AXIS)
    n_terms = len(expected["terms"])
    assert n_terms == 3 * (3 - 1)  # N * (C - 1) Weston-Watkins terms
    open_page(page)
    expect(page.locator(".plot1d .term-line")).to_have_count(0)
    expect(page.locator(".plot1d .example-line")).to_have_count(3)
    page.check("#ls-terms")
    expect(page.locator(".plot1d .term-line")).to_have_count(n_terms)
    drawn = page.locator(".plot1d .term-line").evaluate_all("ps => ps.map(p => p.dataset.term)")
    assert sorted(drawn) == sorted(f"{t['i']},{t['j']}" for t in expected["terms"])
    assert "terms=1" in page.url  # the toggle lives in the link
    screenshot(page, "landscape-1d-terms")
    page.uncheck("#ls-terms")
    expect(page.locator(".plot1d .term-line")).to_have_count(0)


def test_2d_view_renders_and_a_click_recentres_it(page: Page) -> None:
    with page.expect_response("**/api/v1/landscape/slice") as first:
        page.goto("/landscape?view=2d&dataset=toy-2d&grid=21")
    page.wait_for_selector("body[data-ready]")
    grid = first.value.json()
    n = len(grid["alphas"])
    assert n == 21 and len(grid["losses"]) == 21
    heatmap = page.locator(".plot2d image.heatmap")
    assert (heatmap.get_attribute("href") or "").startswith("data:image/png")
    assert page.locator(".plot2d path.contour").count() > 3
    assert page.locator(".plot2d linearGradient stop").count() == 11
    assert readout(page, "loss") == pytest.approx(grid["origin"]["loss"], rel=1e-12)
    screenshot(page, "landscape-2d")
    # click the centre of grid cell (i, j): W moves to W + a_i D1 + b_j D2
    i, j = 15, 4
    box = heatmap.bounding_box()
    assert box is not None
    x = box["x"] + (i + 0.5) * box["width"] / n
    y = box["y"] + (n - 1 - j + 0.5) * box["height"] / n
    with page.expect_response("**/api/v1/landscape/slice") as second:
        page.mouse.click(x, y)
    page.wait_for_function(
        "() => !document.querySelector('#ls-progress') || document.querySelector('#ls-progress').hidden"
    )
    recentred = second.value.json()
    assert f"ca={grid['alphas'][i]:g}" in page.url and f"cb={grid['betas'][j]:g}" in page.url
    # the new slice has the clicked point at its origin, and the loss there is the old grid's
    assert recentred["origin"]["loss"] == pytest.approx(grid["losses"][j][i], rel=1e-9)
    expect(page.locator('#ls-readout dd[data-key="loss"]')).to_have_attribute(
        "data-value", str(recentred["origin"]["loss"])
    )
    assert readout(page, "loss") == pytest.approx(grid["losses"][j][i], rel=1e-9)
    assert recentred["alphas"][10] == pytest.approx(0.0, abs=1e-12)
    screenshot(page, "landscape-2d-recentred")
    # the arrow keys move W one grid cell (0.3 here) within the same plane
    page.focus(".plot2d")
    with page.expect_response("**/api/v1/landscape/slice"):
        page.keyboard.press("ArrowLeft")
    assert f"ca={grid['alphas'][i - 1]:g}" in page.url


def test_gd_path_plays_and_its_loss_decreases(page: Page) -> None:
    open_page(page, "?view=2d&dataset=toy-2d&grid=31")
    with page.expect_response("**/api/v1/landscape/optimize") as answer:
        page.select_option("#ls-method", "gd")
    path = answer.value.json()
    last = len(path["losses"]) - 1
    expect(page.locator("#ls-step-out")).to_have_text(f"step {last} / {last}")
    # The page records each step it shows (an observer on the step label, installed before
    # play), so a slow test process cannot miss the first steps as polling from here could.
    page.evaluate(
        """() => {
            window.__seen = [];
            const label = document.querySelector('#ls-step-out');
            new MutationObserver(() => {
                const step = Number(document.querySelector('#ls-step').value);
                const dd = document.querySelector('#ls-readout dd[data-key=path_loss]');
                const seen = window.__seen;
                if (!seen.length || seen[seen.length - 1][0] !== step) {
                    seen.push([step, Number(dd.dataset.value)]);
                }
            }).observe(label, {childList: true, characterData: true, subtree: true});
        }"""
    )
    page.click("#ls-play")  # at the end, play starts again from step 0
    page.wait_for_function(
        f"() => window.__seen.length > 1 && window.__seen[window.__seen.length - 1][0] === {last}"
    )
    seen: list[tuple[int, float]] = [(s, v) for s, v in page.evaluate("() => window.__seen")]
    steps = [s for s, _ in seen]
    assert steps == sorted(steps) and steps[0] < 5 and steps[-1] == last and len(steps) > 5
    for step, loss in seen:
        assert loss == pytest.approx(path["losses"][step], rel=1e-12)
    assert path["losses"][-1] < 0.5 * path["losses"][0]
    assert readout(page, "path_loss") < readout(page, "path_start")
    expect(page.locator(".descent-path circle.path-point")).to_have_count(last + 1)
    expect(page.locator("#ls-play")).to_have_text("Play")
    assert f"pstep={last}" in page.url
    screenshot(page, "landscape-gd-path")


def test_open_as_circuit_lands_on_the_circuit_page_with_the_same_loss(
    page: Page, live_server: str
) -> None:
    from app.landscape.data import _TOY_2D_X, _TOY_2D_Y
    from tests.browser.test_landscape_rays import ww_loss

    open_page(page, "?dataset=toy-2d&cscope=all")  # the whole loss, not one example's L_i
    loss = readout(page, "loss")
    seeded = api(
        live_server, "loss", {"dataset": {"name": "toy-2d"}, "seed": 0, "include_W": True}
    )["W"]
    assert loss == pytest.approx(ww_loss(_TOY_2D_X, _TOY_2D_Y, seeded), rel=1e-12)
    with page.expect_response("**/api/v1/circuits/evaluate"):
        page.click("#ls-open-circuit")
    page.wait_for_url("**/#e=*")
    expect(page.locator("#status")).to_contain_text(f"Output {loss:.4g}")
    # the circuit page asks for the compact answer: read the output it shows, in full, from its label
    output = full_number(page, '.wire-label[data-edge="__output_wire"] .value')
    assert math.isclose(output, loss, rel_tol=1e-9)
    screenshot(page, "landscape-open-as-circuit")


def test_every_setting_round_trips_through_the_link(page: Page, live_server: str) -> None:
    query = "?dataset=blobs&n=12&d=2&c=3&winit=zeros&loss=softmax&reg=0.1&dir=random&rseed=3"
    open_page(page, query)
    assert page.url.endswith(query)
    assert page.locator("#ls-dataset").input_value() == "blobs"
    body = {
        "dataset": {"name": "blobs", "n": 12, "d": 2, "c": 3, "seed": 0},
        "W": [[0.0, 0.0]] * 3,
        "loss": "softmax",
        "reg": 0.1,
    }
    assert readout(page, "loss") == pytest.approx(api(live_server, "loss", body)["loss"], rel=1e-12)
    # W = 0: every score is 0, each of the 3 classes has probability 1/3, so the loss is log 3
    assert readout(page, "loss") == pytest.approx(math.log(3), rel=1e-12)
    expect(page.locator(".plot1d circle.kink")).to_have_count(0)  # softmax is smooth


def test_a_newer_request_aborts_the_stale_one(page: Page) -> None:
    open_page(page)
    outcome = page.evaluate(
        """async () => {
      const { createClient, isAbort } = await import("/static/js/common/api.js");
      const busy = [];
      const fetchImpl = (url, init) => new Promise((resolve, reject) => {
        init.signal.addEventListener("abort", () => reject(new DOMException("stale", "AbortError")));
        if (JSON.parse(init.body).k === 2) resolve(new Response(JSON.stringify({ ok: 2 })));
      });
      const client = createClient({ onBusy: (count) => busy.push(count), fetchImpl });
      const first = client.post("slice", "/slice", { k: 1 }).catch((e) => (isAbort(e) ? "aborted" : String(e)));
      const second = await client.post("slice", "/slice", { k: 2 });
      return { first: await first, second, busy };
    }"""
    )
    assert outcome == {"first": "aborted", "second": {"ok": 2}, "busy": [1, 1, 1, 0]}


def acknowledge_rejections(page: Page, status: int = 422) -> int:
    """Chromium logs each 4xx answer as a console error: take off exactly those we provoked."""
    watch = page.watch  # type: ignore[attr-defined]
    expected = f"the server responded with a status of {status}"
    ours = [m for m in watch.console_errors if expected in m]
    watch.console_errors[:] = [m for m in watch.console_errors if expected not in m]
    return len(ours)


def test_pasted_csv_errors_are_shown_as_text(page: Page) -> None:
    page.goto("/landscape?dataset=custom")
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("#ls-error")).to_contain_text("Paste a CSV")  # and no request was sent
    page.fill(
        'textarea[data-state="csv"]', "x1,x2,label\n0.5,1,0\n<img src=x onerror=alert(1)>,2,1\n"
    )
    error = page.locator("#ls-error")
    expect(error).to_contain_text("CSV line 3")
    assert page.locator("#ls-error img").count() == 0
    assert acknowledge_rejections(page) == 1
    page.fill('textarea[data-state="csv"]', "x1,x2,label\n0.5,1,0\n-1,2,1\n2,-1,2\n")
    expect(error).to_be_hidden()
    expect(page.locator('#ls-readout dd[data-key="shape"]')).to_have_text("3×2, N = 3")
    page.set_input_files(
        "#ls-upload",
        files=[
            {
                "name": "four.csv",
                "mimeType": "text/csv",
                "buffer": b"1,0,0\n0,1,1\n-1,0,2\n0,-1,3\n",
            }
        ],
    )
    expect(page.locator('#ls-readout dd[data-key="shape"]')).to_have_text("4×2, N = 4")
    assert page.locator('textarea[data-state="csv"]').input_value().startswith("1,0,0")


def test_w_table_edits_w_and_lives_in_the_link(page: Page, live_server: str) -> None:
    open_page(page, "?dataset=toy-2d")
    page.check("#ls-winit-table")
    cells = page.locator("#ls-wtable input")
    expect(cells).to_have_count(9)
    page.fill('#ls-wtable input[data-c="1"][data-d="2"]', "0.75")
    page.wait_for_url("**W=*0.75*")
    W = [
        [float(v) for v in row.split(",")]
        for row in page.url.split("W=")[1].replace("%2C", ",").replace("%3B", ";").split(";")
    ]
    assert W[1][2] == 0.75
    expected = api(live_server, "loss", {"dataset": {"name": "toy-2d"}, "W": W})["loss"]
    expect(page.locator('#ls-readout dd[data-key="loss"]')).to_have_attribute(
        "data-value", str(expected)
    )
    from app.landscape.data import _TOY_2D_X, _TOY_2D_Y
    from tests.browser.test_landscape_rays import ww_loss

    assert readout(page, "loss") == pytest.approx(ww_loss(_TOY_2D_X, _TOY_2D_Y, W), rel=1e-12)


def test_downloads_png_svg_and_csv(page: Page) -> None:
    open_page(page, "?view=2d&dataset=toy-2d&grid=11")
    with page.expect_download() as svg:
        page.click("#ls-dl-svg")
    text = Path(svg.value.path()).read_text()
    assert text.startswith("<svg") and "data:image/png" in text and 'class="contour"' in text
    with page.expect_download() as png:
        page.click("#ls-dl-png")
    assert Path(png.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with page.expect_download() as csv:
        page.click("#ls-dl-csv")
    rows = Path(csv.value.path()).read_text().splitlines()
    assert rows[0] == "a,b,loss" and len(rows) == 1 + 11 * 11
    assert csv.value.suggested_filename == "landscape-toy-2d-2d.csv"


def test_a_large_w_recentres_by_shifting_the_range(page: Page) -> None:
    """Past EXPLICIT_WEIGHTS_LIMIT weights W stays seeded and the slice's range moves instead."""
    with page.expect_response("**/api/v1/landscape/slice") as first:
        page.goto("/landscape?view=2d&dataset=blobs&n=20&d=1000&c=3&grid=21")
    page.wait_for_selector("body[data-ready]")
    grid = first.value.json()
    assert "W" not in json.loads(first.value.request.post_data or "{}")  # seeded, not sent
    i, j = 5, 14
    box = page.locator(".plot2d image.heatmap").bounding_box()
    assert box is not None
    with page.expect_response("**/api/v1/landscape/slice") as second:
        page.mouse.click(
            box["x"] + (i + 0.5) * box["width"] / 21, box["y"] + (20 - j + 0.5) * box["height"] / 21
        )
    body = json.loads(second.value.request.post_data or "{}")
    assert body["range"] == pytest.approx([grid["alphas"][i] - 3, grid["alphas"][i] + 3])
    assert body["beta_range"] == pytest.approx([grid["betas"][j] - 3, grid["betas"][j] + 3])
    moved = second.value.json()
    assert moved["losses"][10][10] == pytest.approx(grid["losses"][j][i], rel=1e-9)
    expect(page.locator('#ls-readout dd[data-key="loss"]')).to_have_attribute(
        "data-value", str(moved["losses"][10][10])
    )
    expect(page.locator('#ls-readout dd[data-key="moved"]')).to_contain_text("original W")
    # the drawn axes are relative to the moved W, which sits at (0, 0)
    zero, _ = axis_pixel(page, ".plot2d", "axis-x")
    assert float(
        page.locator(".plot2d .origin-mark").get_attribute("cx") or "nan"
    ) == pytest.approx(zero, abs=0.6)
    # a second move adds to the first: one cell right of the moved W
    page.focus(".plot2d")
    with page.expect_response("**/api/v1/landscape/slice") as third:
        page.keyboard.press("ArrowRight")
    body = json.loads(third.value.request.post_data or "{}")
    assert body["range"] == pytest.approx([grid["alphas"][i + 1] - 3, grid["alphas"][i + 1] + 3])


def test_pure_modules_state_links_and_planes(page: Page) -> None:
    """state.js round-trips every property and rejects bad values; problem.js planes are seeded."""
    open_page(page)
    result = page.evaluate(
        """async () => {
      const st = await import("/static/js/landscape/state.js");
      const pr = await import("/static/js/landscape/problem.js");
      const state = { ...st.defaults(), view: "2d", dataset: "blobs", W: [[1, -2.5], [0.25, 3]],
        bias: true, reg: 0.001, ca: -1.25, csv: "a,b\\n1,2", method: "sgd", pstep: 7 };
      const query = st.writeQuery(state);
      const back = st.readQuery(query);
      const bad = st.readQuery("?view=3d&steps=abc&W=1,2;3&reg=NaN&li=0&loss=softmax");
      const s1 = pr.gaussianStream(4), s2 = pr.gaussianStream(4), s3 = pr.gaussianStream(5);
      const a = [s1(), s1(), s1()], b = [s2(), s2(), s2()], c = [s3(), s3(), s3()];
      const moved = pr.moveInPlane([[1, 2]], [[1, 0]], [[0, 1]], 0.5, -2);
      return { same: JSON.stringify(back) === JSON.stringify(state), defaultsEmpty: st.writeQuery(st.defaults()),
        bad, a, b, c, moved };
    }"""
    )
    assert result["same"] is True
    assert result["defaultsEmpty"] == ""
    bad = result["bad"]
    assert (bad["view"], bad["steps"], bad["W"], bad["reg"], bad["li"], bad["loss"]) == (
        "1d",
        201,
        None,
        0,
        False,
        "softmax",
    )
    assert result["a"] == result["b"] and result["a"] != result["c"]
    assert result["moved"] == [[1.5, 0.0]]


def test_the_url_table_takes_its_choices_from_the_tables(page: Page) -> None:
    """state.js reads the loss, variant, dataset and optimizer names from the catalog the page
    carries, so a row added to a table is a valid link value with no change to the JS."""
    from app.core.choices import names
    from app.landscape.data import DATASETS
    from app.landscape.losses import LOSSES, SVM_VARIANTS
    from app.landscape.optimize import OPTIMIZERS

    open_page(page)
    values = page.evaluate(
        """async () => {
      const st = await import("/static/js/landscape/state.js");
      return Object.fromEntries(st.FIELDS.filter((f) => f.kind === "enum").map((f) => [f.name, f.values]));
    }"""
    )
    assert values["loss"] == list(names(LOSSES))
    assert values["variant"] == list(names(SVM_VARIANTS))
    assert values["dataset"] == [*names(DATASETS), "custom"]
    assert values["method"] == [*names(OPTIMIZERS), "none"]


def test_only_the_first_loss_asks_for_w_back(page: Page) -> None:
    """/loss echoes W only when asked (issue 17, item 3): the page asks once, for W0 drawn from
    the seed; the moved W's loss it sent itself, and that answer's W is null."""
    losses: list[Any] = []
    page.on(
        "response",
        lambda r: losses.append(r) if r.url.endswith("/api/v1/landscape/loss") else None,
    )
    page.goto("/landscape?view=2d&dataset=toy-2d&ca=0.5")
    page.wait_for_selector("body[data-ready]")
    expect(page.locator('#ls-readout dd[data-key="loss"]')).not_to_have_attribute("data-value", "")
    first, moved = losses[0], losses[-1]
    assert len(losses) == 2
    assert json.loads(first.request.post_data or "{}")["include_W"] is True
    assert len(first.json()["W"]) == 3  # toy-2d: C = 3
    body = json.loads(moved.request.post_data or "{}")
    assert "include_W" not in body and len(body["W"]) == 3  # the default, and W sent
    answer = moved.json()
    assert answer["W"] is None
    expect(page.locator('#ls-readout dd[data-key="loss"]')).to_have_attribute(
        "data-value", str(answer["loss"])
    )


def test_a_429_is_waited_out_and_the_page_says_why(page: Page) -> None:
    """The API client waits out a short 429 (Retry-After) and asks again; meanwhile the progress
    line says the student's share is used, and the page then draws the answer as usual."""
    refused: list[str] = []

    def share_used_once(route: Route) -> None:
        if not refused:
            refused.append(route.request.url)
            route.fulfill(
                status=429,
                headers={"Retry-After": "2", "Content-Type": "application/json"},
                body=json.dumps({"detail": [{"type": "too_many_requests", "loc": [], "msg": "x"}]}),
            )
        else:
            route.continue_()

    page.route("**/api/v1/landscape/slice", share_used_once)
    page.goto("/landscape?view=1d&dataset=toy-2d")
    expect(page.locator("#ls-progress-text")).to_contain_text(
        "your share of the server is used for now: asking again in 2 s"
    )
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("#ls-error")).to_be_hidden()
    expect(page.locator("#ls-progress")).to_be_hidden()
    assert len(refused) == 1
    assert acknowledge_rejections(page, 429) == 1
    expect(page.locator('#ls-readout dd[data-key="loss"]')).not_to_have_attribute("data-value", "")
