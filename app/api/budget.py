"""Per-client compute budgets: a token bucket of predicted compute seconds for each client address.

The in-flight caps (ClientSlots) bound what one client holds at once, but not how often it comes
back: eight addresses that each keep re-sending large circuits keep the job processes' line full,
and everyone who then arrives gets a 503. A bucket per client holds up to `burst_s` predicted
seconds (the cost model's, the number the pools admit by) and refills at `per_minute_s` a
minute; a job the bucket cannot cover is a 429 before any work or wait, with the seconds until
it can. The buckets are plain state of one worker process (like ClientSlots), so behind several
workers a client's budget is per worker it reaches.

A fixed rate per address lets eight attacking addresses start eight times that rate between
them, whatever the machine can do. So the worker's own rate (`total_per_minute_s`, the seconds
of compute a minute it can give away) is shared: while n clients are drawing on their buckets
(each one not full), each refills at the smaller of its own rate and 1/n of the worker's. A
class that keeps well under its share never notices; the more addresses press at once, the
less each one may start.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float  # predicted seconds the client may still start; negative after a large job
    at: float  # clock reading when `tokens` was last brought up to date


class ComputeBudget:
    """Token buckets of predicted compute seconds, one per client, refilled continuously.

    A job costs its predicted seconds. It is admitted when the client's bucket holds them, or,
    for a job larger than the whole burst, when the bucket is full; it then goes below zero, so
    a large job is paid for in full before the next. `per_minute_s` = 0 turns budgets off.
    A full bucket is the same as no bucket, so full ones are forgotten; past `max_clients`
    buckets the fullest go first, which only ever errs towards letting a client in."""

    def __init__(
        self,
        per_minute_s: float,
        burst_s: float,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        total_per_minute_s: float = 0.0,
    ) -> None:
        self.rate = max(0.0, per_minute_s) / 60.0  # predicted seconds per second
        self.burst = max(0.0, burst_s)
        self.max_clients = max(1, max_clients)
        self.clock = clock
        self.total_rate = max(0.0, total_per_minute_s) / 60.0  # 0: no shared limit
        self._buckets: dict[str, _Bucket] = {}
        self._active = 0
        self._counted_at = -math.inf

    @property
    def enabled(self) -> bool:
        return self.rate > 0 and self.burst > 0

    def active(self) -> int:
        """Clients drawing on their buckets (not full), counted at most once a second."""
        now = self.clock()
        if now - self._counted_at >= 1.0:
            # fullness at the client's own rate: the count must not depend on the share it sets
            self._active = sum(
                1
                for b in self._buckets.values()
                if b.tokens + (now - b.at) * self.rate < self.burst
            )
            self._counted_at = now
        return self._active

    def rate_now(self) -> float:
        """Each client's refill rate now (predicted seconds per second): its own, or its share
        of the worker's while more clients than that leaves room for are drawing on theirs."""
        if self.total_rate <= 0:
            return self.rate
        return min(self.rate, self.total_rate / max(1, self.active()))

    def tokens(self, client: str) -> float:
        """The predicted seconds the client's bucket holds now (the burst if it has none)."""
        bucket = self._buckets.get(client)
        if bucket is None:
            return self.burst
        return min(self.burst, bucket.tokens + (self.clock() - bucket.at) * self.rate_now())

    def retry_after_s(self, client: str, seconds: float) -> int | None:
        """None if the client may start a job of `seconds` now; else whole seconds until it may."""
        if not self.enabled:
            return None
        need = min(max(0.0, seconds), self.burst)
        short = need - self.tokens(client)
        if short <= 1e-9:  # rounding: a bucket refilled to exactly the need covers it
            return None
        return max(1, math.ceil(short / self.rate_now() - 1e-9))

    def spend(self, client: str, seconds: float) -> None:
        """Takes a job's predicted seconds from the client's bucket (after retry_after_s())."""
        if not self.enabled:
            return
        now = self.clock()
        self._buckets[client] = _Bucket(self.tokens(client) - max(0.0, seconds), now)
        if len(self._buckets) > self.max_clients:
            self._forget(now)

    def __len__(self) -> int:
        return len(self._buckets)

    def _forget(self, now: float) -> None:
        """Drops full buckets; if still over the cap, the fullest, down to three quarters of it
        (so a sweep happens once per many new clients, not on each)."""
        level = {client: self.tokens(client) for client in self._buckets}
        keep = sorted((c for c in level if level[c] < self.burst), key=lambda c: level[c])
        keep = keep[: max(1, self.max_clients * 3 // 4)]
        self._buckets = {client: self._buckets[client] for client in keep}
