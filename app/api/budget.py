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
of compute a minute it can give away) is shared max-min fairly: each client's recent use (its
spending over about USAGE_WINDOW_S) is known, and the level L is the rate at which the clients
using less than L use what they use and the rest L each, with the worker's rate used up in all.
Every bucket refills at the smaller of its own rate and L. A student who uses less than the
level never notices it; the addresses that press hardest share what the others leave.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

USAGE_WINDOW_S = 30.0  # a client's recent use: its spending, decayed with this time constant


@dataclass(slots=True)
class _Bucket:
    tokens: float  # predicted seconds the client may still start; negative after a large job
    at: float  # clock reading when `tokens` was last brought up to date
    used: float = 0.0  # seconds spent, each decayed by exp(-age / USAGE_WINDOW_S)


def water_level(usage: list[float], total: float) -> float:
    """The max-min fair level of `total` over clients using `usage` (rates): the L for which
    sum(min(u, L)) = total; infinite when everyone's use fits in `total`."""
    left, count = total, len(usage)
    for i, used in enumerate(sorted(usage)):
        share = left / (count - i)
        if used > share:
            return share
        left -= used
    return math.inf


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
        self._level = math.inf
        self._counted_at = -math.inf

    @property
    def enabled(self) -> bool:
        return self.rate > 0 and self.burst > 0

    def usage(self, client: str) -> float:
        """The client's recent use, in predicted seconds per second."""
        bucket = self._buckets.get(client)
        return 0.0 if bucket is None else self._usage(bucket, self.clock())

    def _usage(self, bucket: _Bucket, now: float) -> float:
        return bucket.used * math.exp(-(now - bucket.at) / USAGE_WINDOW_S) / USAGE_WINDOW_S

    def _recount(self) -> None:
        """The clients using compute and the fair level, at most once a second."""
        now = self.clock()
        if now - self._counted_at < 1.0:
            return
        self._counted_at = now
        usage = [u for b in self._buckets.values() if (u := self._usage(b, now)) > 1e-9]
        self._active = len(usage)
        self._level = water_level(usage, self.total_rate) if self.total_rate > 0 else math.inf

    def active(self) -> int:
        """Clients that have used compute lately (the level is shared among them)."""
        self._recount()
        return self._active

    def rate_now(self) -> float:
        """Each client's refill rate now (predicted seconds per second): its own, or the fair
        level of the worker's rate when the clients' recent use is more than it."""
        if self.total_rate <= 0:
            return self.rate
        self._recount()
        return min(self.rate, self._level)

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
        old = self._buckets.get(client)
        used = 0.0 if old is None else old.used * math.exp(-(now - old.at) / USAGE_WINDOW_S)
        seconds = max(0.0, seconds)
        self._buckets[client] = _Bucket(self.tokens(client) - seconds, now, used + seconds)
        if len(self._buckets) > self.max_clients:
            self._forget(now)

    def settle(self, client: str, charged: float, used: float) -> None:
        """A job charged `charged` predicted seconds when it was let in turned out to use
        `used`: the difference goes back to (or, for an underestimate, comes out of) the
        client's bucket and its recent use."""
        if not self.enabled:
            return
        bucket = self._buckets.get(client)
        if bucket is None:
            return  # forgotten as full since: nothing to give back
        delta = max(0.0, used) - max(0.0, charged)
        now = self.clock()
        bucket.tokens = min(self.burst, self.tokens(client) - delta)
        bucket.used = max(0.0, bucket.used * math.exp(-(now - bucket.at) / USAGE_WINDOW_S) + delta)
        bucket.at = now

    def __len__(self) -> int:
        return len(self._buckets)

    def _forget(self, now: float) -> None:
        """Drops full buckets; if still over the cap, the fullest, down to three quarters of it
        (so a sweep happens once per many new clients, not on each)."""
        level = {client: self.tokens(client) for client in self._buckets}
        keep = sorted((c for c in level if level[c] < self.burst), key=lambda c: level[c])
        keep = keep[: max(1, self.max_clients * 3 // 4)]
        self._buckets = {client: self._buckets[client] for client in keep}
