"""nbgrader's metadata check with each schema checked once: the same verdicts and errors as
`jsonschema.validate`, without checking the schema again for every cell."""

from __future__ import annotations

import copy
import subprocess
import sys

import jsonschema
import nbformat
import pytest
from nbgrader.nbgraderformat import common
from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

from nb_helpers.grading import schema
from tests.support.course import LESSONS, REPO

SCHEMA = MetadataValidatorV3().schema


def lesson_metadata() -> list[dict]:
    nb = nbformat.read(REPO / "solutions" / LESSONS[0] / f"{LESSONS[0]}.ipynb", as_version=4)
    return [cell.metadata["nbgrader"] for cell in nb.cells if "nbgrader" in cell.metadata]


def broken(meta: dict, **changes) -> dict:
    meta = copy.deepcopy(meta)
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    return meta


def outcome(validate, instance, schema_=SCHEMA):
    try:
        validate(instance, schema_)
    except jsonschema.exceptions.SchemaError as exc:
        return "SchemaError", exc.message, list(exc.path)
    except jsonschema.ValidationError as exc:
        return "ValidationError", exc.message, list(exc.path), list(exc.schema_path)
    return "valid"


def test_the_same_verdicts_and_errors_as_jsonschema_validate():
    metadata = lesson_metadata()
    graded = next(m for m in metadata if m.get("grade"))
    instances = metadata + [
        broken(graded, points="2"), broken(graded, points=-1), broken(graded, grade="yes"),
        broken(graded, grade_id="has space"), broken(graded, checksum="short"), broken(graded, locked=None),
        broken(graded, locked=1), broken(graded, schema_version=None), [], "text",
    ]
    outcomes = [outcome(jsonschema.validate, instance) for instance in instances]
    assert outcomes[: len(metadata)] == ["valid"] * len(metadata)
    assert all(o != "valid" for o in outcomes[len(metadata):])   # each broken one is rejected ...
    assert [outcome(schema.validate, instance) for instance in instances] == outcomes  # ... with the same error


def test_an_invalid_schema_is_still_reported():
    bad = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "no-such-type"}
    assert outcome(schema.validate, {}, bad)[0] == "SchemaError"
    assert outcome(schema.validate, {}, bad) == outcome(jsonschema.validate, {}, bad)


def test_nbgraders_validator_checks_the_schema_once(monkeypatch):
    assert schema.check_schemas_once()
    assert schema.check_schemas_once()  # idempotent
    schema._checked_validator.cache_clear()
    cls = jsonschema.validators.validator_for(SCHEMA)
    checks = []
    original = cls.check_schema.__func__

    def counted(klass, schema_, *args, **kwargs):
        checks.append(schema_)
        return original(klass, schema_, *args, **kwargs)

    monkeypatch.setattr(cls, "check_schema", classmethod(counted))
    nb = nbformat.read(REPO / "solutions" / LESSONS[0] / f"{LESSONS[0]}.ipynb", as_version=4)
    for _ in range(2):
        MetadataValidatorV3().validate_nb(nb)
    assert len(lesson_metadata()) > 10 and len(checks) == 1
    with pytest.raises(jsonschema.ValidationError, match="'2' is not of type 'number'"):
        MetadataValidatorV3().validate_cell(nbformat.v4.new_code_cell(
            metadata={"nbgrader": broken(next(m for m in lesson_metadata() if m.get("grade")), points="2")}))


def test_nothing_is_changed_where_nbgrader_no_longer_calls_jsonschema_validate(monkeypatch):
    elsewhere = object()
    monkeypatch.setattr(common, "jsonschema", elsewhere)
    assert not schema.check_schemas_once()
    assert common.jsonschema is elsewhere


@pytest.mark.parametrize("turned_on_by", [
    "from traitlets.config.loader import PyFileConfigLoader\n"
    "PyFileConfigLoader('nbgrader_config.py', path='.').load_config()",   # serial nbgrader autograde
    "import nb_helpers.grading.parallel.worker",                          # a parallel worker
])
def test_the_course_configuration_and_the_parallel_workers_turn_it_on(turned_on_by):
    probe = turned_on_by + "\nfrom nbgrader.nbgraderformat import common\nprint(type(common.jsonschema).__name__)\n"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "_JsonschemaWithCheckedSchemas"
