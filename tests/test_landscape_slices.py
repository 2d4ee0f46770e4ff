"""Exact slices: values vs direct evaluation, kink slopes vs one-sided differences, convexity, 2-D grids."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.config import Settings
from app.core.limits import Limits
from app.landscape.data import Dataset
from app.landscape.kinks import exact_line, grid_rows, upper_envelope
from app.landscape.losses import LossSpec, evaluate, loss_of_weights
from app.landscape.model import Setup
from app.landscape.optimize import PlaneProjector
from app.landscape.slices import quadratic, slice_1d, slice_2d

SVM_SPECS = [
    LossSpec("svm", v, delta, reg)
    for v in ("ww", "ova", "structured")
    for delta, reg in ((1.0, 0.0), (0.5, 0.3))
]


def random_problem(seed: int, n: int = 12, d: int = 4, c: int = 5):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 1.5, size=(n, d))
    y = rng.integers(0, c, size=n)
    W = rng.normal(0, 1, size=(c, d))
    D1 = rng.normal(0, 1, size=(c, d))
    D2 = rng.normal(0, 1, size=(c, d))
    return X, y, W, D1, D2


def direct(W, D, X, y, spec, a):  # type: ignore[no-untyped-def]
    return np.array([loss_of_weights(W + t * D, X, y, spec) for t in np.atleast_1d(a)])


@pytest.mark.parametrize("spec", SVM_SPECS, ids=str)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_line_matches_direct_evaluation_at_1000_points(spec: LossSpec, seed: int) -> None:
    X, y, W, D, _ = random_problem(seed)
    lo, hi = -3.0, 2.5
    line = exact_line(X @ W.T, X @ D.T, y, spec, lo, hi, quadratic(W, D, spec.reg))
    a = np.random.default_rng(100 + seed).uniform(lo, hi, 1000)
    exact, reference = line.value(a), direct(W, D, X, y, spec, a)
    np.testing.assert_allclose(exact, reference, rtol=1e-9, atol=1e-9)
    assert line.kinks.size > 5  # the test covers lines with many kinks


@pytest.mark.parametrize("spec", SVM_SPECS, ids=str)
@pytest.mark.parametrize("seed", [3, 4])
def test_every_kink_slope_matches_one_sided_differences(spec: LossSpec, seed: int) -> None:
    X, y, W, D, _ = random_problem(seed)
    lo, hi = -2.0, 2.0
    line = exact_line(X @ W.T, X @ D.T, y, spec, lo, hi, quadratic(W, D, spec.reg))
    kinks = line.merged_kinks()
    assert len(kinks) > 5
    alphas = [k["alpha"] for k in kinks]
    gaps = np.diff([lo, *alphas, hi])
    for k, kink in enumerate(kinks):
        a = kink["alpha"]
        eps = min(1e-6, gaps[k] / 4, gaps[k + 1] / 4)
        f0 = direct(W, D, X, y, spec, a)[0]
        left = (f0 - direct(W, D, X, y, spec, a - eps)[0]) / eps
        right = (direct(W, D, X, y, spec, a + eps)[0] - f0) / eps
        # a one-sided difference of a linear+quadratic piece is off by q2*eps at most
        tol = 1e-6 + 2 * spec.reg * float(np.sum(D * D)) * eps
        assert kink["slope_left"] == pytest.approx(left, abs=tol)
        assert kink["slope_right"] == pytest.approx(right, abs=tol)
        assert kink["slope_right"] > kink["slope_left"]  # convex: slopes only grow


@pytest.mark.parametrize("spec", SVM_SPECS, ids=str)
def test_subgradient_at_w_matches_one_sided_differences(spec: LossSpec) -> None:
    X, y, W, D, _ = random_problem(7)
    line = exact_line(X @ W.T, X @ D.T, y, spec, -1.0, 1.0, quadratic(W, D, spec.reg))
    left, right = line.one_sided_slopes(0.0)
    eps = 1e-7
    f0 = direct(W, D, X, y, spec, 0.0)[0]
    assert left == pytest.approx((f0 - direct(W, D, X, y, spec, -eps)[0]) / eps, abs=1e-5)
    assert right == pytest.approx((direct(W, D, X, y, spec, eps)[0] - f0) / eps, abs=1e-5)
    # away from kinks the one-sided slopes are the directional derivative <dW, D>
    assert left == pytest.approx(float(np.sum(evaluate(W, X, y, spec).grad_W * D)), abs=1e-9)


def test_subgradient_interval_at_a_kink_of_w() -> None:
    """At W = 0 with delta = 0 every hinge sits on its kink: left and right slopes differ."""
    X = np.array([[1.0], [-2.0], [0.5]])
    y = np.array([0, 1, 2])
    W = np.zeros((3, 1))
    D = np.zeros((3, 1))
    D[0, 0] = 1.0
    spec = LossSpec(delta=0.0)
    line = exact_line(X @ W.T, X @ D.T, y, spec, -1.0, 1.0, (0.0, 0.0, 0.0))
    left, right = line.one_sided_slopes(0.0)
    # terms through w0: ex0: 2*max(0, -a), ex1: max(0, -2a), ex2: max(0, 0.5a); mean over 3
    assert left == pytest.approx(-(2 * 1 + 2) / 3)
    assert right == pytest.approx(0.5 / 3)
    assert [k["alpha"] for k in line.merged_kinks()] == [0.0]


@pytest.mark.parametrize("spec", SVM_SPECS, ids=str)
def test_exact_minimum_is_below_every_direct_value(spec: LossSpec) -> None:
    X, y, W, D, _ = random_problem(11)
    lo, hi = -3.0, 3.0
    line = exact_line(X @ W.T, X @ D.T, y, spec, lo, hi, quadratic(W, D, spec.reg))
    alpha, value = line.minimum()
    assert value == pytest.approx(direct(W, D, X, y, spec, alpha)[0], abs=1e-9)
    grid = direct(W, D, X, y, spec, np.linspace(lo, hi, 2001))
    assert value <= grid.min() + 1e-12
    left, right = line.one_sided_slopes(alpha)
    if lo < alpha < hi:  # optimality: 0 is in the subgradient interval
        assert left <= 1e-9 and right >= -1e-9


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    variant=st.sampled_from(["ww", "ova", "structured"]),
    reg=st.sampled_from([0.0, 0.2]),
)
def test_every_svm_slice_is_convex(seed: int, variant: str, reg: float) -> None:
    X, y, W, D1, D2 = random_problem(seed, n=6, d=3, c=4)
    spec = LossSpec("svm", variant, 1.0, reg)
    setup = Setup(Dataset(X, y, 4), W, spec)
    one = slice_1d(setup, D1, -2.0, 2.0, 201, Settings())
    losses = np.array(one["losses"])
    assert np.all(np.diff(losses, 2) >= -1e-10)
    slopes = [s for k in one["kinks"] for s in (k["slope_left"], k["slope_right"])]
    assert all(b >= a - 1e-12 for a, b in zip(slopes, slopes[1:], strict=False))
    grid = np.array(slice_2d(setup, D1, D2, (-2.0, 2.0), (-2.0, 2.0), 41)["losses"])
    assert np.all(np.diff(grid, 2, axis=1) >= -1e-10)  # along alpha
    assert np.all(np.diff(grid, 2, axis=0) >= -1e-10)  # along beta


@pytest.mark.parametrize(
    "spec",
    [*SVM_SPECS, LossSpec("softmax", "ww", 1.0, 0.0), LossSpec("softmax", "ww", 1.0, 0.2)],
    ids=str,
)
def test_2d_grid_matches_naive_evaluation(spec: LossSpec) -> None:
    X, y, W, D1, D2 = random_problem(5)
    setup = Setup(Dataset(X, y, 5), W, spec)
    answer = slice_2d(setup, D1, D2, (-2.0, 1.0), (-0.5, 1.5), 17)
    alphas, betas = np.array(answer["alphas"]), np.array(answer["betas"])
    naive = np.array(
        [[loss_of_weights(W + a * D1 + b * D2, X, y, spec) for a in alphas] for b in betas]
    )
    np.testing.assert_allclose(np.array(answer["losses"]), naive, rtol=1e-10, atol=1e-10)
    assert answer["origin"]["loss"] == pytest.approx(loss_of_weights(W, X, y, spec), rel=1e-12)
    row, col = np.unravel_index(int(np.argmin(naive)), naive.shape)
    assert answer["minimum"] == {
        "alpha": alphas[col],
        "beta": betas[row],
        "loss": pytest.approx(naive[row, col], rel=1e-12),
    }


def test_grid_rows_with_many_chunks_and_kinks_outside_the_range() -> None:
    """Small chunks and a narrow range: kinks left of lo count in the start slope, right of hi not."""
    import app.landscape.kinks as kinks

    X, y, W, D1, D2 = random_problem(9, n=30)
    spec = LossSpec("svm", "ww", 1.0, 0.0)
    betas = np.linspace(-1, 1, 9)
    full = grid_rows(X @ W.T, X @ D1.T, X @ D2.T, betas, y, spec, -0.1, 0.1, 11)
    saved = kinks.CHUNK_VALUES
    kinks.CHUNK_VALUES = 10
    try:
        chunked = grid_rows(X @ W.T, X @ D1.T, X @ D2.T, betas, y, spec, -0.1, 0.1, 11)
    finally:
        kinks.CHUNK_VALUES = saved
    alphas = np.linspace(-0.1, 0.1, 11)
    naive = np.array(
        [[loss_of_weights(W + a * D1 + b * D2, X, y, spec) for a in alphas] for b in betas]
    )
    np.testing.assert_allclose(full, naive, atol=1e-10)
    np.testing.assert_allclose(chunked, naive, atol=1e-10)


def test_upper_envelope_by_hand() -> None:
    # lines: 0, a - 1, 2a - 4 -> switches at a = 1 (slope 0 -> 1) and a = 3 (1 -> 2)
    B = np.array([[0.0, -1.0, -4.0]])
    M = np.array([[0.0, 1.0, 2.0]])
    start, positions, increases = upper_envelope(B, M)
    assert start.tolist() == [0.0]
    assert positions.tolist() == [[1.0, 3.0]]
    assert increases.tolist() == [[1.0, 1.0]]
    # a line that is never on top (a - 10 under max(0, 2a - 4)) adds no switch
    start, positions, increases = upper_envelope(np.array([[0.0, -10.0, -4.0]]), M)
    assert positions[0, 0] == 2.0 and increases[0, 0] == 2.0 and np.isinf(positions[0, 1])


def test_per_term_lines_add_up_to_the_loss() -> None:
    X = np.array([[-1.5], [0.5], [2.0]])
    y = np.array([0, 1, 2])
    W = np.array([[0.3], [-0.2], [0.6]])
    D = np.zeros((3, 1))
    D[0, 0] = 1.0
    setup = Setup(Dataset(X, y, 3), W, LossSpec())
    answer = slice_1d(setup, D, -2.0, 2.0, 41, Settings())
    terms = np.array([t["values"] for t in answer["terms"]])
    examples = np.array([e["values"] for e in answer["per_example"]])
    assert terms.shape == (6, 41) and examples.shape == (3, 41)
    np.testing.assert_allclose(examples.sum(axis=0) / 3, answer["losses"], atol=1e-12)
    np.testing.assert_allclose(terms.sum(axis=0), examples.sum(axis=0), atol=1e-12)
    assert answer["kink_count"] >= 3  # the notes' picture: several kinks along one weight


def test_plane_projection_recovers_coordinates_and_off_plane_distance() -> None:
    rng = np.random.default_rng(0)
    W0, D1, D2, E = (rng.normal(size=(3, 4)) for _ in range(4))
    projector = PlaneProjector(W0, D1, D2)
    a, b, off = projector.project(W0 + 0.7 * D1 - 1.3 * D2)
    assert (a, b, off) == pytest.approx((0.7, -1.3, 0.0), abs=1e-12)
    basis = np.stack([D1.ravel(), D2.ravel()], axis=1)
    normal = E.ravel() - basis @ np.linalg.lstsq(basis, E.ravel(), rcond=None)[0]
    a, b, off = projector.project(W0 + 0.7 * D1 + normal.reshape(W0.shape))
    assert a == pytest.approx(0.7, abs=1e-12)
    assert off == pytest.approx(np.linalg.norm(normal), rel=1e-12)


def test_diverging_gradient_descent_stops_at_the_last_finite_point() -> None:
    from app.landscape.optimize import optimize

    X, y, W, D1, D2 = random_problem(2)
    setup = Setup(Dataset(X, y, 5), W, LossSpec("svm", "ww", 1.0, 1e6))
    answer = optimize(setup, "gd", 200, 1e6, 8, 0, D1, D2, momentum=0.9)
    assert answer["diverged"] is True
    assert 0 < answer["steps_taken"] < 200
    assert len(answer["losses"]) == answer["steps_taken"] + 1
    assert len(answer["path"]["alphas"]) == answer["steps_taken"] + 1
    assert all(np.isfinite(answer["losses"]))
    calm = optimize(setup, "gd", 5, 1e-9, 8, 0, D1, D2, momentum=0.9)
    assert calm["diverged"] is False and calm["steps_taken"] == 5


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    variant=st.sampled_from(["ww", "ova", "structured"]),
    axis_direction=st.booleans(),
    reg=st.sampled_from([0.0, 0.5]),
)
def test_exact_line_with_ties_and_coincident_kinks(
    seed: int, variant: str, axis_direction: bool, reg: float
) -> None:
    """Small integer data and weights make many kinks coincide and margins sit exactly on 0."""
    rng = np.random.default_rng(seed)
    n, d, c = int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(2, 5))
    X = rng.integers(-2, 3, size=(n, d)).astype(float)
    y = rng.integers(0, c, size=n)
    W = rng.integers(-1, 2, size=(c, d)).astype(float)
    if axis_direction:
        D = np.zeros((c, d))
        D[rng.integers(c), rng.integers(d)] = 1.0
    else:
        D = rng.integers(-2, 3, size=(c, d)).astype(float)
    spec = LossSpec("svm", variant, 1.0, reg)
    lo, hi = -3.0, 3.0
    line = exact_line(X @ W.T, X @ D.T, y, spec, lo, hi, quadratic(W, D, reg))
    a = np.concatenate([rng.uniform(lo, hi, 200), np.arange(-3.0, 3.01, 0.5)])
    np.testing.assert_allclose(line.value(a), direct(W, D, X, y, spec, a), rtol=1e-9, atol=1e-9)
    # integer data: kinks are fractions p/q with q <= 48, so distinct ones are > 1/2300 apart
    eps = 1e-4
    tol = 1e-6 + 2 * reg * float(np.sum(D * D)) * eps  # a quadratic piece bends by q2*eps
    for kink in line.merged_kinks():
        k = kink["alpha"]
        f0 = direct(W, D, X, y, spec, k)[0]
        left = (f0 - direct(W, D, X, y, spec, k - eps)[0]) / eps
        right = (direct(W, D, X, y, spec, k + eps)[0] - f0) / eps
        assert kink["slope_left"] == pytest.approx(left, abs=tol)
        assert kink["slope_right"] == pytest.approx(right, abs=tol)
    left0, right0 = line.one_sided_slopes(0.0)
    f0 = direct(W, D, X, y, spec, 0.0)[0]
    assert left0 == pytest.approx((f0 - direct(W, D, X, y, spec, -eps)[0]) / eps, abs=tol)
    assert right0 == pytest.approx((direct(W, D, X, y, spec, eps)[0] - f0) / eps, abs=tol)


# ---------------------------------------------------------------- directions


W32 = np.array([[1.0, -2.0], [0.5, 0.0], [3.0, 4.0]])  # C = 3, D = 2: rows and columns differ
DIRECTION_LOC, AXIS_LOC = ("body", "directions", 1), ("body", "axes", 1)


@pytest.mark.parametrize(
    ("kind", "axis", "msg", "loc"),
    [
        ([[1.0, 0.0], [0.0, 1.0]], None, "direction is 2x2 but W is 3x2", DIRECTION_LOC),
        ([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], None, "direction is 2x3 but W is 3x2", DIRECTION_LOC),
        (
            [[1.0, 0.0], [0.0, float("nan")], [0.0, 0.0]],
            None,
            "direction has a non-finite value (nan) at index [1, 1]",
            (*DIRECTION_LOC, 1, 1),
        ),
        ("axis", None, "an `axis` direction needs axis = [c, d]", AXIS_LOC),
        ("axis", [0], "an `axis` direction needs axis = [c, d]", AXIS_LOC),
        ("axis", [0, 2], "axis [0, 2] is outside W, which is 3x2", AXIS_LOC),
        ("axis", [3, 0], "axis [3, 0] is outside W, which is 3x2", AXIS_LOC),
        ("axis", [-1, 0], "axis [-1, 0] is outside W, which is 3x2", AXIS_LOC),
        (
            "diagonal",
            None,
            "direction must be 'random', 'axis' or a C x D list, got 'diagonal'",
            DIRECTION_LOC,
        ),
    ],
)
def test_a_bad_direction_says_what_and_where(
    kind: object, axis: object, msg: str, loc: tuple[object, ...]
) -> None:
    from app.core.errors import ProblemError
    from app.landscape.slices import make_direction

    rng = np.random.default_rng(0)
    with pytest.raises(ProblemError) as error:
        make_direction(kind, axis, W32, rng, "none", DIRECTION_LOC, AXIS_LOC)
    (problem,) = error.value.problems
    assert (problem.msg, problem.loc) == (msg, loc)


def test_directions_given_by_axis_by_list_and_drawn_with_each_normalization() -> None:
    from app.landscape.slices import directions_for, make_direction

    def draw(normalize: str) -> np.ndarray:
        return make_direction("random", None, W32, np.random.default_rng(5), normalize, (), ())

    raw = np.random.default_rng(5).standard_normal((3, 2))
    np.testing.assert_array_equal(draw("none"), raw)
    overall = draw("overall")  # scaled as a whole to W's norm
    np.testing.assert_allclose(overall, raw * np.linalg.norm(W32) / np.linalg.norm(raw), rtol=1e-15)
    rows = draw("rows")  # each row scaled to W's row of the same class
    np.testing.assert_allclose(
        np.linalg.norm(rows, axis=1), np.linalg.norm(W32, axis=1), rtol=1e-14
    )
    scale = np.linalg.norm(W32, axis=1) / np.linalg.norm(raw, axis=1)
    np.testing.assert_allclose(rows, raw * scale[:, None], rtol=1e-14)
    axis = make_direction("axis", [2, 1], W32, np.random.default_rng(0), "rows", (), ())
    np.testing.assert_array_equal(axis, [[0, 0], [0, 0], [0, 1.0]])  # never normalized
    given = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    np.testing.assert_array_equal(make_direction(given, None, W32, None, "rows", (), ()), given)
    # one generator for all: the second random direction is the generator's second draw
    first, second = directions_for(W32, ["random", "random"], None, "none", 9)
    rng = np.random.default_rng(9)
    np.testing.assert_array_equal(first, rng.standard_normal((3, 2)))
    np.testing.assert_array_equal(second, rng.standard_normal((3, 2)))


def test_a_range_and_its_samples_at_their_edges() -> None:
    from app.core.errors import ProblemError
    from app.core.limits import Limits
    from app.landscape.slices import check_range

    check_range(-1.0, 1.0, 2, Limits(), ("body", "range"))  # two samples: both ends
    for lo, hi, steps, msg, loc in (
        (1.0, 1.0, 5, "range must have lo < hi, got [1.0, 1.0]", ("body", "range")),
        (-1.0, 1.0, 1, "steps must be at least 2, got 1", ("body", "steps")),
    ):
        with pytest.raises(ProblemError) as error:
            check_range(lo, hi, steps, Limits(), ("body", "range"))
        (problem,) = error.value.problems
        assert (problem.msg, problem.loc) == (msg, loc)


# ---------------------------------------------------------------- kinks placed exactly


def hinges_with_kinks_at(*kinks: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores S0, S1 and labels of one example per kink p: two classes, true class 0, so with
    delta = 0 its Weston-Watkins term is max(0, s1 - s0) = max(0, a - p), a kink at exactly
    a = (0 - (-p)) / (1 - 0) = p where the slope grows by 1 (by 1/N in the mean)."""
    S0 = np.array([[0.0, -p] for p in kinks])
    S1 = np.array([[0.0, 1.0]] * len(kinks))
    return S0, S1, np.zeros(len(kinks), dtype=np.int64)


NO_DELTA = LossSpec("svm", "ww", 0.0, 0.0)


def test_an_exact_line_of_a_smooth_loss_is_refused_by_name() -> None:
    S0, S1, y = hinges_with_kinks_at(0.5)
    message = "^loss 'softmax' is not piecewise linear: it has no exact line$"
    with pytest.raises(ValueError, match=message):
        exact_line(S0, S1, y, LossSpec("softmax"), -1.0, 1.0, (0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match=message):
        grid_rows(S0, S1, S1, np.zeros(2), y, LossSpec("softmax"), -1.0, 1.0, 3)


def test_switches_of_nearly_concurrent_lines_stay_sorted() -> None:
    """Three lines through one point a0 (intercepts -m*a0 rounded): the envelope switches to the
    middle line and at once to the steepest, and rounding can put the second switch an ulp left
    of the first; each row's switches must still come sorted, both at a0."""
    rng = np.random.default_rng(1)
    a0 = rng.uniform(-3.0, 3.0, 20_000)
    M = np.sort(rng.uniform(-3.0, 3.0, (20_000, 3)), axis=1)
    _, positions, increases = upper_envelope(-M * a0[:, None], M)
    two = np.isfinite(positions[:, 1])
    assert two.sum() > 1000  # many rows really switch twice
    assert np.all(positions[two, 1] >= positions[two, 0])
    np.testing.assert_allclose(positions[:, 0], a0, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(positions[two, 1], a0[two], rtol=1e-12, atol=1e-12)
    # the slope grows from the flattest line's to the steepest's
    np.testing.assert_allclose(increases.sum(axis=1), M[:, 2] - M[:, 0], rtol=1e-12)


@pytest.mark.parametrize(
    ("lo", "hi", "gap", "merged"),
    [
        # kinks at 0 and `gap` merge when gap <= 1e-12 * max(1, |lo|, |hi|)
        (-1.0, 1.0, 1e-12, True),  # exactly the tolerance: merged
        (-1.0, 1.0, 1.5e-12, False),
        (-0.5, 0.5, 0.7e-12, True),  # a range inside [-1, 1] still merges at 1e-12
        (-4.0, 1.0, 2e-12, True),  # |lo| = 4: the tolerance is 4e-12
        (-1.0, 4.0, 2e-12, True),  # |hi| = 4: the same
        (-4.0, 1.0, 5e-12, False),
    ],
)
def test_kinks_within_the_tolerance_merge(lo: float, hi: float, gap: float, merged: bool) -> None:
    S0, S1, y = hinges_with_kinks_at(0.0, gap)
    line = exact_line(S0, S1, y, NO_DELTA, lo, hi, (0.0, 0.0, 0.0))
    # (max(0, a) + max(0, a - gap)) / 2: slope 0, then 1/2 after each kink
    if merged:
        assert line.merged_kinks() == [{"alpha": 0.0, "slope_left": 0.0, "slope_right": 1.0}]
    else:
        assert line.merged_kinks() == [
            {"alpha": 0.0, "slope_left": 0.0, "slope_right": 0.5},
            {"alpha": gap, "slope_left": 0.5, "slope_right": 1.0},
        ]


def test_a_kink_on_the_high_end_is_listed_and_one_without_a_slope_change_is_not() -> None:
    # max(0, a - 1) on [-1, 1]: its kink is the range's high end, which (lo, hi] includes
    S0, S1, y = hinges_with_kinks_at(1.0)
    line = exact_line(S0, S1, y, NO_DELTA, -1.0, 1.0, (0.0, 0.0, 0.0))
    assert line.merged_kinks() == [{"alpha": 1.0, "slope_left": 0.0, "slope_right": 1.0}]
    # max(0, 5e-324 * a) / 2 (and a second example's max(0, -1) = 0): the slope grows by the
    # smallest subnormal, which halved rounds to 0, so there is no kink to list
    S0, S1 = np.array([[0.0, 0.0], [0.0, -1.0]]), np.array([[0.0, 5e-324], [0.0, 0.0]])
    line = exact_line(S0, S1, np.zeros(2, dtype=np.int64), NO_DELTA, -1.0, 1.0, (0.0, 0.0, 0.0))
    assert 5e-324 / 2 == 0.0
    assert line.merged_kinks() == []


def test_a_grid_row_with_a_kink_a_subnormal_right_of_lo_is_never_negative() -> None:
    # max(0, a - 5e-324) at a = 0, 4, 8: (p - lo) / h = 5e-324 / 4 rounds to 0, yet the kink is
    # right of lo, so it counts from the grid's second point on; at a = 0 the loss is exactly 0
    S0, S1, y = hinges_with_kinks_at(5e-324)
    row = grid_rows(S0, S1, np.zeros((1, 2)), np.array([0.0]), y, NO_DELTA, 0.0, 8.0, 3)
    assert 5e-324 / 4 == 0.0 and 4.0 - 5e-324 == 4.0
    assert row.tolist() == [[0.0, 4.0, 8.0]]
    assert not np.signbit(row[0, 0])


# ---------------------------------------------------------------- the 1-D slice's answer


def one_hinge_setup(w1: float, reg: float = 0.0, delta: float = 0.0) -> tuple[Setup, np.ndarray]:
    """x = [1], class 0 of 2, W = [[0], [w1]], D moving W[1, 0]: the loss along the slice is
    max(0, w1 + delta + a) + reg * (w1 + a)^2, a kink at a = -(w1 + delta)."""
    setup = Setup(Dataset(np.array([[1.0]]), np.array([0]), 2), np.array([[0.0], [w1]]),
                  LossSpec("svm", "ww", delta, reg))  # fmt: skip
    return setup, np.array([[0.0], [1.0]])


def test_a_1d_slice_answer_worked_out_by_hand() -> None:
    # W = [[0], [-1]], delta = 1, reg = 0.5: L(a) = max(0, a) + 0.5 * (a - 1)^2, at a = -1, 0, 1:
    # 0 + 2 = 2, 0 + 0.5 = 0.5, 1 + 0 = 1. The kink at a = 0 (which is W): the slope is
    # (a - 1) = -1 left of it and 1 + (a - 1) = 0 right of it, so 0.5 at a = 0 is the minimum.
    setup, D = one_hinge_setup(-1.0, reg=0.5, delta=1.0)
    limits = Limits(max_term_lines=2, max_slice_kinks=1)  # N*C = 2 terms; 1 kink
    answer = slice_1d(setup, D, -1.0, 1.0, 3, limits)
    assert answer == {
        "alphas": [-1.0, 0.0, 1.0],
        "exact": True,
        "losses": pytest.approx([2.0, 0.5, 1.0], abs=1e-15),
        "kink_count": 1,
        "kinks_truncated": False,
        "kinks": [{"alpha": 0.0, "slope_left": -1.0, "slope_right": 0.0}],
        "subgradient": {"left": -1.0, "right": 0.0},
        "minimum": {"alpha": 0.0, "loss": 0.5},
        "origin": {"loss": 0.5},  # max(0, -1 - 0 + 1) + 0.5 * 1
        # the one hinge term (example 0, class 1) and the one example's L_i, without reg
        "terms": [{"i": 0, "j": 1, "values": [0.0, 0.0, 1.0]}],
        "per_example": [{"i": 0, "values": [0.0, 0.0, 1.0]}],
    }
    # one kink over a limit of 0: counted, flagged, not listed; N*C = 2 over 1: no term lines
    fewer = slice_1d(setup, D, -1.0, 1.0, 3, Limits(max_term_lines=1, max_slice_kinks=0))
    assert (fewer["kink_count"], fewer["kinks_truncated"], fewer["kinks"]) == (1, True, [])
    assert "terms" not in fewer and "per_example" not in fewer


@pytest.mark.parametrize(
    ("p", "lo", "hi", "on_the_kink"),
    [
        # W is on the kink at p when |p| <= 1e-12 * max(1, |lo|, |hi|)
        (1e-12, -1.0, 1.0, True),  # exactly the tolerance
        (1.5e-12, -1.0, 1.0, False),
        (0.8e-12, -0.5, 0.5, True),  # a range inside [-1, 1] keeps 1e-12
        (2e-12, -4.0, 1.0, True),  # |lo| = 4: 4e-12
        (2e-12, -1.0, 4.0, True),  # |hi| = 4: 4e-12
        (0.5, -1.0, 1.0, False),  # far: the slope at a = 0, where max(0, a - 0.5) is flat
    ],
)
def test_the_subgradient_at_w_takes_a_kink_within_rounding_of_it(
    p: float, lo: float, hi: float, on_the_kink: bool
) -> None:
    # delta = 0, W = [[0], [-p]]: the loss along the slice is max(0, a - p)
    setup, D = one_hinge_setup(-p)
    answer = slice_1d(setup, D, lo, hi, 5, Limits())
    expected = {"left": 0.0, "right": 1.0} if on_the_kink else {"left": 0.0, "right": 0.0}
    assert answer["subgradient"] == expected


def softmax_by_hand(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float) -> float:
    """(1/N) sum_i (log sum_j exp s_ij - s_iy) + reg * ||W||^2, s = X W^T."""
    S = X @ W.T
    data = np.log(np.exp(S).sum(axis=1)) - S[np.arange(y.size), y]
    return float(data.mean() + reg * np.sum(W * W))


@pytest.mark.parametrize("chunk_values", [None, 24])
def test_a_sampled_1d_slice_adds_the_l2_term_and_takes_its_lowest_sample(
    chunk_values: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.landscape.slices as slices

    X, y, W, D, _ = random_problem(13, n=4, d=3, c=3)  # S0 has 12 scores
    if chunk_values is not None:  # two alphas per chunk: 9 alphas take 5 chunks
        monkeypatch.setattr(slices, "CHUNK_VALUES", chunk_values)
    reg = 0.3
    setup = Setup(Dataset(X, y, 3), W, LossSpec("softmax", "ww", 1.0, reg))
    answer = slice_1d(setup, D, -2.0, 2.0, 9, Limits())
    alphas = np.linspace(-2.0, 2.0, 9)
    expected = [softmax_by_hand(W + a * D, X, y, reg) for a in alphas]
    q = quadratic(W, D, reg)
    assert len({q[0], q[1], q[2]}) == 3 and q[1] != 0.0  # each of the L2 term's parts counts
    assert answer["exact"] is False
    np.testing.assert_allclose(answer["losses"], expected, rtol=1e-12)
    best = int(np.argmin(expected))
    assert 0 < best < 8  # the lowest sample is inside the range
    assert answer["minimum"] == {"alpha": alphas[best], "loss": pytest.approx(expected[best])}


def test_each_direction_takes_its_own_axis_and_names_it_in_an_error() -> None:
    from app.core.errors import ProblemError
    from app.landscape.slices import directions_for

    # fewer axes than directions: the second (random) direction has none, and needs none
    axis, drawn = directions_for(W32, ["axis", "random"], [[2, 1]], "none", 4)
    np.testing.assert_array_equal(axis, [[0, 0], [0, 0], [0, 1.0]])
    np.testing.assert_array_equal(drawn, np.random.default_rng(4).standard_normal((3, 2)))
    for kinds, axes, loc in (
        (["random", "axis"], [None, [3, 0]], ("body", "axes", 1)),  # a plane: axes[k]
        (["axis"], [[3, 0]], ("body", "axis")),  # one direction: the request's `axis`
    ):
        with pytest.raises(ProblemError) as error:
            directions_for(W32, kinds, axes, "none", 0)
        (problem,) = error.value.problems
        assert (problem.msg, problem.loc) == ("axis [3, 0] is outside W, which is 3x2", loc)
