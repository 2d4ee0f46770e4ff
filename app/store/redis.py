"""The Store in Redis, shared by every replica behind the load balancer.

Each operation is one Lua script, which Redis runs atomically: compare-and-set reads the version
and writes in one step, and an append takes its offset from RPUSH's new length. A record is a
hash (value, version), a stream a list, so an offset is a list index. Expiry is kept twice: a
deadline key read by every script against the caller's clock (tests move that clock; replicas'
wall clocks agree to well under a second), and PEXPIRE on every key of the name, so Redis itself
deletes an ended or forgotten class even if no request ever touches it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
import redis

from app.store import Conflict, Missing, Record

# KEYS: record, stream, deadline. ARGV[1]: the caller's clock now (seconds). Drops a name whose
# deadline has passed, as if Redis had expired it already.
_ALIVE = """
local at = redis.call('GET', KEYS[3])
if at and tonumber(at) <= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
end
"""

# ARGV[2]: value, ARGV[3]: ttl seconds or ''. Returns {0, version} on conflict, {1} when made.
_CREATE = (
    _ALIVE
    + """
local current = redis.call('HGET', KEYS[1], 'version')
if current then return {0, tonumber(current)} end
redis.call('HSET', KEYS[1], 'value', ARGV[2], 'version', 1)
if ARGV[3] ~= '' then
  local ttl = tonumber(ARGV[3])
  redis.call('SET', KEYS[3], tostring(tonumber(ARGV[1]) + ttl))
  local ms = math.max(1, math.ceil(ttl * 1000))
  redis.call('PEXPIRE', KEYS[1], ms)
  redis.call('PEXPIRE', KEYS[3], ms)
  if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ms) end
end
return {1}
"""
)

_GET = (
    _ALIVE
    + """
return redis.call('HMGET', KEYS[1], 'value', 'version')
"""
)

# ARGV[2]: value, ARGV[3]: expected version. Returns {-1} missing, {0, current}, {1, new}.
# HSET keeps the key's time to live, as the protocol asks.
_UPDATE = (
    _ALIVE
    + """
local current = redis.call('HGET', KEYS[1], 'version')
if not current then return {-1} end
if current ~= ARGV[3] then return {0, tonumber(current)} end
local new = tonumber(current) + 1
redis.call('HSET', KEYS[1], 'value', ARGV[2], 'version', new)
return {1, new}
"""
)

# ARGV[2]: item. A stream made after its name's expiry was set takes the deadline's.
_APPEND = (
    _ALIVE
    + """
local length = redis.call('RPUSH', KEYS[2], ARGV[2])
if length == 1 then
  local ms = redis.call('PTTL', KEYS[3])
  if ms > 0 then redis.call('PEXPIRE', KEYS[2], ms) end
end
return length - 1
"""
)

# ARGV[2]: first index, ARGV[3]: last index (-1: to the end)
_READ = (
    _ALIVE
    + """
return redis.call('LRANGE', KEYS[2], ARGV[2], ARGV[3])
"""
)

# ARGV[2]: ttl seconds. Returns 0 when neither the record nor the stream exists.
_EXPIRE = (
    _ALIVE
    + """
if redis.call('EXISTS', KEYS[1], KEYS[2]) == 0 then return 0 end
local ttl = tonumber(ARGV[2])
if ttl <= 0 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return 1
end
local ms = math.max(1, math.ceil(ttl * 1000))
redis.call('SET', KEYS[3], tostring(tonumber(ARGV[1]) + ttl), 'PX', ms)
for i = 1, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ms) end
end
return 1
"""
)


class RedisStore:
    """`url` is redis://host:port/db; `prefix` keeps this app's keys apart from others' (and
    each test's from the next)."""

    def __init__(
        self,
        url: str,
        prefix: str = "bpc:",
        clock: Callable[[], float] = time.time,
        timeout_s: float = 5.0,
    ) -> None:
        self.url = url
        self._prefix = prefix
        self._clock = clock
        # a pool of connections, one per thread at a time; made without connecting
        self._redis = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._create = self._redis.register_script(_CREATE)
        self._get = self._redis.register_script(_GET)
        self._update = self._redis.register_script(_UPDATE)
        self._append = self._redis.register_script(_APPEND)
        self._read = self._redis.register_script(_READ)
        self._expire = self._redis.register_script(_EXPIRE)

    def _keys(self, name: str) -> list[str]:
        return [f"{self._prefix}r:{name}", f"{self._prefix}s:{name}", f"{self._prefix}d:{name}"]

    def _now(self) -> str:
        return repr(self._clock())

    def close(self) -> None:
        self._redis.close()

    def create(self, key: str, value: Any, ttl: float | None = None) -> Record:
        blob = orjson.dumps(value)
        ttl_arg = "" if ttl is None else repr(float(ttl))
        answer = self._create(keys=self._keys(key), args=[self._now(), blob, ttl_arg])
        if answer[0] == 0:
            raise Conflict(key, int(answer[1]))
        return Record(orjson.loads(blob), 1)

    def get(self, key: str) -> Record | None:
        value, version = self._get(keys=self._keys(key), args=[self._now()])
        return None if value is None else Record(orjson.loads(value), int(version))

    def update(self, key: str, value: Any, version: int) -> Record:
        blob = orjson.dumps(value)
        answer = self._update(keys=self._keys(key), args=[self._now(), blob, str(version)])
        if answer[0] == -1:
            raise Missing(key)
        if answer[0] == 0:
            raise Conflict(key, int(answer[1]))
        return Record(orjson.loads(blob), int(answer[1]))

    def append(self, stream: str, item: Any) -> int:
        return int(self._append(keys=self._keys(stream), args=[self._now(), orjson.dumps(item)]))

    def read(self, stream: str, offset: int = 0, limit: int | None = None) -> list[Any]:
        if offset < 0 or (limit is not None and limit < 0):
            raise ValueError("offset and limit are counts from the stream's start: not negative")
        if limit == 0:
            return []
        last = -1 if limit is None else offset + limit - 1
        items = self._read(keys=self._keys(stream), args=[self._now(), offset, last])
        return [orjson.loads(item) for item in items]

    def expire(self, key: str, ttl: float) -> bool:
        return bool(self._expire(keys=self._keys(key), args=[self._now(), repr(float(ttl))]))
