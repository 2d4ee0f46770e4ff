"""The plane of a descent path: its first two principal directions, and how much of it they hold.

As in Li et al. 2018 (Visualizing the Loss Landscape of Neural Nets). A random plane through W almost never contains a descent path: in C*D dimensions two random
directions miss nearly all of its movement, so the path is drawn as a stub of points far off
the heatmap. The principal directions of the path's displacements from its start W0 are the
plane that holds the most of it (in the least-squares sense), so the heatmap under the drawn
path is, as near as a plane can make it, the loss the path really went through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class PathPlane:
    """Directions D1, D2 (C x D, orthogonal, both of length `scale`) through the path's start.

    `scale` is the path's furthest reach along either direction, so the path's coordinates
    (a, b) lie in [-1, 1] and a = 1 is as far as it went along D1; both directions have the
    same length, so the plane is drawn without distortion.
    """

    D1: np.ndarray
    D2: np.ndarray
    explained: tuple[float, float]  # each direction's share of the path's squared movement
    max_off_plane: float  # the largest distance of a path point from the plane
    scale: float

    def summary(self) -> dict[str, Any]:
        return {
            "explained": list(self.explained),
            "captured": self.explained[0] + self.explained[1],
            "max_off_plane": self.max_off_plane,
            "scale": self.scale,
        }


def path_plane(start: np.ndarray, points: Sequence[np.ndarray]) -> PathPlane:
    """The plane through `start` spanned by the first two right singular vectors of the matrix
    whose rows are each point minus the start (uncentred PCA of the displacements).

    The plane is the same on every machine, where the path decides it and where it does not:
    - A direction the path does not decide (its singular value is at rounding level: a path
      along one line has no second direction, one that never moved has neither) is not the
      SVD's arbitrary pick: the weight axes complete the basis, each time the axis furthest
      from the directions already taken (the first of equals), made orthogonal to them.
    - Each direction's sign makes the last point's coordinate along it positive (the path
      moves towards positive a and b); where that coordinate is at rounding level (a path
      that came back, or a direction the path does not decide), it makes the direction's
      largest weight positive (the first of equals).
    """
    moves = np.stack([np.asarray(p, dtype=float).ravel() for p in points]) - start.ravel()
    if moves.shape[1] < 2:
        raise ValueError("a plane needs W with at least two weights")
    # two zero rows keep the SVD's basis at least two vectors wide for a one-point path
    padded = np.vstack([moves, np.zeros((2, moves.shape[1]))])
    _, singular, basis = np.linalg.svd(padded, full_matrices=False)
    tiny = _ROUNDING * float(singular[0])
    directions = [basis[k] for k in range(2) if singular[k] > tiny]
    while len(directions) < 2:
        directions.append(_next_axis(directions, moves.shape[1]))
    plane = np.stack(directions)
    last = plane @ moves[-1]
    near_zero = np.abs(last) <= _ROUNDING * float(np.max(np.abs(moves), initial=0.0))
    largest = plane[np.arange(2), np.argmax(np.abs(plane), axis=1)]
    plane[np.where(near_zero, largest < 0, last < 0)] *= -1
    coords = moves @ plane.T  # (points, 2): exact, since the directions are orthonormal
    off = np.linalg.norm(moves - coords @ plane, axis=1)
    total = float(np.sum(singular**2))
    explained = (
        (float(singular[0] ** 2 / total), float(singular[1] ** 2 / total)) if total else (0.0, 0.0)
    )
    reach = float(np.max(np.abs(coords)))
    scale = reach if reach > 0 else 1.0  # a path that never moved: unit directions
    D1, D2 = (scale * d.reshape(start.shape) for d in plane)
    return PathPlane(D1, D2, explained, float(np.max(off)), scale)


# A singular value or coordinate this small against the path's largest is rounding, not movement.
_ROUNDING = 1e-12


def _next_axis(taken: list[np.ndarray], size: int) -> np.ndarray:
    """The weight axis furthest from the directions taken, made orthogonal to them: the axis
    whose squared components along them sum least (the first of those equal up to rounding, so
    that (1, 1, 1, 1)/2 gives axis 0 whatever its last bits), minus those components."""
    near = np.sum(np.square(taken), axis=0) if taken else np.zeros(size)
    axis = np.zeros(size)
    axis[int(np.flatnonzero(near <= near.min() + _ROUNDING)[0])] = 1.0
    for direction in taken:
        axis -= (direction @ axis) * direction
    return axis / np.linalg.norm(axis)


__all__ = ["PathPlane", "path_plane"]
