"""Cross-origin calls to the JSON API (BPC_CORS_ORIGINS): which origins may call it, and the headers that say so."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

# Only the API is shared with other origins; pages and static files stay same-origin.
API_PREFIX = "/api/"
ALLOWED_METHODS = "GET, POST"
# What a caller may send (simple headers need no listing) and what its script may read.
ALLOWED_HEADERS = frozenset({"content-type", "x-request-id"})
EXPOSED_HEADERS = "Retry-After, X-Request-Id, X-Instance, Content-Length"
PREFLIGHT_MAX_AGE_S = 600


def check_origins(origins: Iterable[str], setting: str = "BPC_CORS_ORIGINS") -> list[str]:
    """The setting's origins, each "scheme://host[:port]" as a browser sends it, or "*";
    raises ValueError naming the first that is not (a path or a trailing slash never matches)."""
    checked = []
    for origin in origins:
        if origin == "*":
            checked.append(origin)
            continue
        parts = urlsplit(origin)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path
            or parts.query
            or parts.fragment
            or parts.username is not None
        ):
            raise ValueError(
                f"{setting}: {origin!r} is not an origin like 'https://course.example.org' "
                "or 'http://localhost:8080' (scheme, host and port only, no path or slash)"
            )
        checked.append(origin)
    return checked


class CorsPolicy:
    """Answers, for one request, whether its Origin may read the API's answer."""

    def __init__(self, origins: Iterable[str]) -> None:
        self.origins = frozenset(check_origins(origins))
        self.any = "*" in self.origins

    def allows(self, origin: str | None) -> bool:
        return origin is not None and (self.any or origin in self.origins)

    @staticmethod
    def applies(path: str) -> bool:
        return path.startswith(API_PREFIX)

    def answer_headers(self, origin: str) -> list[tuple[bytes, bytes]]:
        """Headers on an API answer to an allowed origin (errors included)."""
        return [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
            (b"vary", b"Origin"),
        ]

    def preflight_headers(self, origin: str, requested: str) -> list[tuple[bytes, bytes]] | None:
        """Headers for a preflight's 204, or None when it asks for a header we do not take."""
        asked = {h.strip().lower() for h in requested.split(",") if h.strip()}
        if not asked <= ALLOWED_HEADERS:
            return None
        return [
            *self.answer_headers(origin),
            (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
            (b"access-control-allow-headers", ", ".join(sorted(asked)).encode()),
            (b"access-control-max-age", str(PREFLIGHT_MAX_AGE_S).encode()),
        ]
