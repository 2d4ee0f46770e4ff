"""Schemathesis over /openapi.json: no 5xx, and every response matches the documented schema."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.api.deps import current_settings
from app.core.config import Settings
from app.main import create_app

# Small limits keep each generated request cheap; the checks are about shapes, not sizes.
SMALL = Settings(
    max_expression_chars=2_000,
    max_gates=500,
    max_landscape_n=200,
    max_landscape_nd=20_000,
    max_grid_points=441,
    max_slice_steps=201,
    max_optimize_steps=50,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

app = create_app()
app.dependency_overrides[current_settings] = lambda: SMALL
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:
    # Not positive_data_acceptance: a schema-valid request may still be refused on meaning
    # (an empty dataset, a range with lo > hi) with a 422, by design.
    case.call_and_validate(checks=CHECKS)
