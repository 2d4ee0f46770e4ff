"""The data view in Chromium: regions, the per-example table and an added point, against numpy."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urlsplit

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_landscape_page import axis_pixel, open_page, readout

pytestmark = pytest.mark.browser

# six points of three classes, two features; the page appends the bias column (bias=1)
POINTS = [
    (0.6, 0.5, 0),
    (0.9, 0.2, 0),
    (-0.5, 0.4, 1),
    (-0.8, 0.9, 1),
    (0.1, -0.7, 2),
    (-0.2, -0.9, 2),
]
W = np.array([[1.0, 0.5, 0.0], [-1.0, 0.5, 0.2], [0.0, -1.0, 0.1]])  # C x (2 features + bias)
CSV = "".join(f"{a},{b},{c}\n" for a, b, c in POINTS)
QUERY = (
    f"?dataset=custom&csv={quote(CSV)}&bias=1&winit=table"
    f"&W={quote(';'.join(','.join(f'{w:g}' for w in row) for row in W))}"
)


def with_bias(points: list[tuple[float, float, int]]) -> tuple[np.ndarray, np.ndarray]:
    X = np.array([[a, b, 1.0] for a, b, _ in points])
    return X, np.array([c for _, _, c in points])


def svm_by_hand(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Weston-Watkins, delta 1: margins s_j - s_y + 1 (j != y), L_i, and their mean."""
    S = X @ W.T
    margins = S - S[np.arange(len(y)), y][:, None] + 1.0
    margins[np.arange(len(y)), y] = 0.0
    per_example = np.maximum(0.0, margins).sum(axis=1)
    return margins, per_example, float(per_example.mean())


def test_the_table_shows_the_margins_and_losses_numpy_gives(page: Page) -> None:
    open_page(page, QUERY)
    rows = page.locator("#ls-examples tbody tr")
    expect(rows).to_have_count(len(POINTS))
    X, y = with_bias(POINTS)
    margins, per_example, loss = svm_by_hand(X, y)
    for i in range(len(POINTS)):
        row = rows.nth(i)
        li = float(row.locator("td.li").get_attribute("data-value"))
        assert li == pytest.approx(per_example[i], rel=1e-12, abs=1e-15)
        for j in range(3):
            if j == y[i]:
                continue
            cell = row.locator(f'td.margin[data-c="{j}"]')
            assert float(cell.get_attribute("data-value")) == pytest.approx(
                margins[i, j], abs=1e-12
            )
            # an active hinge term (margin > 0) is marked, an inactive one is not
            assert ("active" in (cell.get_attribute("class") or "")) == bool(margins[i, j] > 0)
    assert readout(page, "loss") == pytest.approx(loss, rel=1e-12)


def test_the_regions_are_the_argmax_of_the_scores(page: Page) -> None:
    open_page(page, QUERY)
    expect(page.locator("#ls-databox")).to_be_visible()
    x0, x_per_unit = axis_pixel(page, ".dataview", "axis-x")
    y0, y_per_unit = axis_pixel(page, ".dataview", "axis-y")
    image = page.locator("#ls-dataview image.region-image")
    classes = image.get_attribute("data-classes") or ""
    n = round(len(classes) ** 0.5)
    assert n * n == len(classes) and n > 1
    left, top, width, height = (
        float(image.get_attribute(k) or "nan") for k in ["x", "y", "width", "height"]
    )
    # the picture itself: one pixel per cell, decoded from the image the page shows
    pixels = page.evaluate(
        """async (href) => {
          const img = new Image();
          img.src = href;
          await img.decode();
          const canvas = document.createElement("canvas");
          canvas.width = img.width;
          canvas.height = img.height;
          const ctx = canvas.getContext("2d");
          ctx.drawImage(img, 0, 0);
          return [img.width, Array.from(ctx.getImageData(0, 0, img.width, img.height).data)];
        }""",
        image.get_attribute("href"),
    )
    assert pixels[0] == n
    fills = {
        int(c.get_attribute("data-class")): c.get_attribute("fill")
        for c in page.locator(".dataview circle.point").all()
    }
    seen = set()
    for k in range(0, n * n, n * n // 23):  # a spread of cells across the raster
        i, j = k % n, k // n
        cx, cy = left + (i + 0.5) * width / n, top + (j + 0.5) * height / n
        # the tick positions carry d3's half-pixel offset; a cell is 7 units wide, so a cell
        # whose centre is this close to a boundary is skipped rather than judged
        a, b = (cx - 0.5 - x0) / x_per_unit, (cy - 0.5 - y0) / y_per_unit
        scores = W @ np.array([a, b, 1.0])
        ordered = np.sort(scores)
        if ordered[-1] - ordered[-2] < 0.05:
            continue
        expected = int(np.argmax(scores))
        assert ord(classes[k]) - 48 == expected
        red, green, blue, alpha = pixels[1][4 * k : 4 * k + 4]
        # the colour of that class's points
        assert (f"#{red:02x}{green:02x}{blue:02x}", alpha) == (fills[expected], 255)
        seen.add(expected)
    assert seen == {0, 1, 2}


def test_each_score_zero_line_is_drawn_across_the_view_only(page: Page) -> None:
    """Each class's score-zero line is drawn from one edge of the plotted square to another
    (not far beyond it, clipped): both ends on W[c]·(x0, x1, 1) = 0 and on the box's edges."""
    open_page(page, QUERY)
    x0, x_per_unit = axis_pixel(page, ".dataview", "axis-x")
    y0, y_per_unit = axis_pixel(page, ".dataview", "axis-y")
    clip = page.locator("#dataview-clip rect")
    left, top = float(clip.get_attribute("x") or "nan"), float(clip.get_attribute("y") or "nan")
    right = left + float(clip.get_attribute("width") or "nan")
    bottom = top + float(clip.get_attribute("height") or "nan")
    lines = page.locator("#ls-dataview line.zero-line")
    assert lines.count() == 3
    for line in lines.all():
        c = int(line.get_attribute("data-class") or "-1")
        for end in ("1", "2"):
            px = float(line.get_attribute(f"x{end}") or "nan")
            py = float(line.get_attribute(f"y{end}") or "nan")
            # on an edge of the box, within it
            assert left - 1e-6 <= px <= right + 1e-6 and top - 1e-6 <= py <= bottom + 1e-6
            assert min(abs(px - left), abs(px - right), abs(py - top), abs(py - bottom)) < 1e-6
            # and on the line, to the precision of reading the scale off two drawn ticks (the
            # ticks carry d3's half-pixel offset)
            a, b = (px - 0.5 - x0) / x_per_unit, (py - 0.5 - y0) / y_per_unit
            assert W[c] @ np.array([a, b, 1.0]) == pytest.approx(0.0, abs=0.01)


def test_an_added_point_joins_the_table_and_the_loss(page: Page) -> None:
    open_page(page, QUERY)
    view = page.locator("#ls-dataview svg.dataview")
    box = view.bounding_box()
    assert box is not None
    scale = box["width"] / 420  # the view's viewBox is 420 units wide
    x0, x_per_unit = axis_pixel(page, ".dataview", "axis-x")
    y0, y_per_unit = axis_pixel(page, ".dataview", "axis-y")
    # a point of class 2 at about (0.7, -0.6), where no point is
    page.select_option("#ls-dv-class", "2")
    view.click(
        position={"x": (x0 + 0.7 * x_per_unit) * scale, "y": (y0 - 0.6 * y_per_unit) * scale}
    )
    page.wait_for_url(re.compile(r"csv="))
    rows = page.locator("#ls-examples tbody tr")
    expect(rows).to_have_count(len(POINTS) + 1)
    page.wait_for_function("() => document.querySelectorAll('#ls-examples tbody tr').length === 7")
    csv = parse_qs(urlsplit(page.url).query)["csv"][0]
    lines = [line.split(",") for line in csv.strip().splitlines()]
    added = (float(lines[-1][0]), float(lines[-1][1]), int(lines[-1][2]))
    assert added[2] == 2 and abs(added[0] - 0.7) < 0.05 and abs(added[1] + 0.6) < 0.05
    X, y = with_bias([*POINTS, added])
    _, per_example, loss = svm_by_hand(X, y)
    expect(page.locator('#ls-readout dd[data-key="loss"]')).to_have_attribute(
        "data-value", re.compile(".")
    )
    page.wait_for_function(
        "(want) => Math.abs(Number(document.querySelector('#ls-readout dd[data-key=\"loss\"]')"
        ".dataset.value) - want) < 1e-9",
        arg=loss,
    )
    li = float(rows.nth(6).locator("td.li").get_attribute("data-value"))
    assert li == pytest.approx(per_example[6], rel=1e-12, abs=1e-15)
    # hovering the new row highlights its point
    rows.nth(6).hover()
    expect(page.locator('.dataview circle.point[data-i="6"]')).to_have_class(re.compile(r"\bhot\b"))
    screenshot(page, "landscape-data-view")


def csv_points(page: Page) -> list[tuple[float, float, int]]:
    csv = parse_qs(urlsplit(page.url).query)["csv"][0]
    rows = [line.split(",") for line in csv.strip().splitlines()]
    return [(float(a), float(b), int(c)) for a, b, c in rows]


def wait_for_loss(page: Page, loss: float) -> None:
    page.wait_for_function(
        "(want) => Math.abs(Number(document.querySelector('#ls-readout dd[data-key=\"loss\"]')"
        ".dataset.value) - want) < 1e-9",
        arg=loss,
    )


def test_shift_click_deletes_and_drag_moves_a_point(page: Page) -> None:
    open_page(page, QUERY)
    page.locator('.dataview circle.point[data-i="0"]').click(modifiers=["Shift"])
    rows = page.locator("#ls-examples tbody tr")
    expect(rows).to_have_count(len(POINTS) - 1)
    assert csv_points(page) == POINTS[1:]
    wait_for_loss(page, svm_by_hand(*with_bias(POINTS[1:]))[2])
    # drag the first remaining point 40 pixels right and 30 down
    point = page.locator('.dataview circle.point[data-i="0"]')
    box = point.bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 20, cy + 15, steps=4)
    page.mouse.move(cx + 40, cy + 30, steps=4)
    page.mouse.up()
    page.wait_for_function(
        "(old) => !new URLSearchParams(location.search).get('csv').startsWith(old)",
        arg="0.9,0.2,",
    )
    moved = csv_points(page)
    assert moved[1:] == POINTS[2:] and moved[0][2] == 0
    # right and down on the screen: x0 grows, x1 falls
    assert moved[0][0] > POINTS[1][0] and moved[0][1] < POINTS[1][1]
    expect(rows).to_have_count(len(POINTS) - 1)
    wait_for_loss(page, svm_by_hand(*with_bias(moved))[2])
