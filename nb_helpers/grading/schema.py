"""nbgrader's check of the nbgrader metadata, with each schema checked once per process.

nbgrader validates every cell's `metadata.nbgrader` with `jsonschema.validate(metadata, schema)`,
which first checks the schema itself against the JSON Schema meta-schema, on every call: about
1 ms per cell, nine tenths of it for the schema (lesson 01: 31 cells, checked twice per graded
submission, 65 → 7 ms). `check_schemas_once()` gives nbgrader's validators a `validate` that builds
one validator per schema, checks that schema once, and raises the errors `jsonschema.validate` raises.
"""

from __future__ import annotations

import functools
import json
import types
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for

from ..compat import use_nbgrader_jsonschema


@functools.lru_cache(maxsize=16)
def _checked_validator(schema_json: str) -> Any:
    schema = json.loads(schema_json)
    cls = validator_for(schema)
    cls.check_schema(schema)  # SchemaError if the schema itself is invalid, as jsonschema.validate
    return cls(schema)


def validate(instance: Any, schema: Any, cls: Any = None, *args: Any, **kwargs: Any) -> None:
    """`jsonschema.validate(instance, schema)`: raises the best-matching `ValidationError`, or
    `SchemaError` for an invalid schema; the schema's validator is built and checked once."""
    if cls is not None or args or kwargs:
        return jsonschema.validate(instance, schema, cls, *args, **kwargs)
    error = best_match(_checked_validator(json.dumps(schema, sort_keys=True)).iter_errors(instance))
    if error is not None:
        raise error
    return None


class _JsonschemaWithCheckedSchemas(types.ModuleType):
    """`jsonschema` as nbgrader's metadata validators see it: the same module but for `validate`."""

    validate = staticmethod(validate)

    def __getattr__(self, name: str) -> Any:
        return getattr(jsonschema, name)


def check_schemas_once() -> bool:
    """Make nbgrader's metadata validators (`nbgrader.nbgraderformat.common`) use `validate`
    (`compat.use_nbgrader_jsonschema`). Idempotent; does nothing (returns False) where nbgrader no
    longer calls `jsonschema.validate` through its module-level `jsonschema` name."""
    return use_nbgrader_jsonschema(_JsonschemaWithCheckedSchemas("jsonschema"))
