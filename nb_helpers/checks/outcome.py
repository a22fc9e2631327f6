"""What a check finds: each case's `Outcome` (it crosses the trust boundary) and the `Verdict`.

`collection` runs the code under test where it lives (the student's kernel, or the fork server's
sandboxed child at grading) and describes what each case did as an `Outcome`; the child sends them
as JSON (`to_json`); the trusted grader reads them back (`from_json`) and `judgement` compares them
with the reference's. An outcome is plain data (a dict of strings, numbers, lists and the `plain`
description of the returned value), so that it travels through `plain.encode` / `plain.decode` as it
is; `Outcome` types it. Every record carries `version`: `validated` rejects, with `OutcomeError`, a
record of another version, an unknown status or a field of the wrong shape, so that the judge treats
a forged or garbled record as a failure of the code under test.

`judgement` sums the outcomes up in a `Verdict`; its `status` is a `nb_helpers.verdict_status.VerdictStatus`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence, TypedDict, get_args

from ..verdict_status import VerdictStatus
from . import plain

# ------------------------------------------------------------------ a case's outcome

#: The version of the record below; a grader reads only its own version.
OUTCOME_VERSION = 1

#: ok (returned; `value` describes it); error (raised; `error`); not_implemented (raised
#: NotImplementedError: a blank exercise); delegated (called, or is, a forbidden routine:
#: `delegated_to`, `identity`); missing (the name is not defined in the program; `note` says why
#: when a cell above it was stopped).
OutcomeStatus = Literal["ok", "error", "not_implemented", "delegated", "missing"]
OUTCOME_STATUSES: tuple[str, ...] = get_args(OutcomeStatus)


class ErrorInfo(TypedDict):
    """An exception the code under test raised: its class, the names of its classes (MRO), its text."""

    type: str
    mro: list[str]
    message: str


class WarningInfo(TypedDict):
    """A RuntimeWarning the code under test triggered."""

    category: str
    message: str


class _Required(TypedDict):
    version: int
    status: OutcomeStatus
    warnings: list[WarningInfo]
    mutated: list[str]


class Outcome(_Required, total=False):
    """One case's outcome. `warnings`: the first RuntimeWarnings; `mutated`: the arguments changed in
    place ("argument 1", "argument 'y'"); `value`: the result as plain data (status ok); `error`
    (status error); `delegated_to`, `identity` (status delegated: the forbidden routine, and whether
    the answer *is* it rather than calls it); `note` (status missing)."""

    value: Any
    error: ErrorInfo
    delegated_to: str
    identity: bool
    note: str | None


class OutcomeError(ValueError):
    """A record that is not an `Outcome` of this version (forged, garbled or from another grader)."""


def outcome(status: OutcomeStatus, *, warnings: Sequence[WarningInfo] = (), mutated: Sequence[str] = (),
            **fields: Any) -> Outcome:
    """A new record of this version (`fields`: the optional ones of `Outcome`)."""
    record: dict[str, Any] = {"version": OUTCOME_VERSION, "status": status, "warnings": list(warnings),
                              "mutated": list(mutated), **fields}
    return record  # type: ignore[return-value]


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _shape_problem(record: dict) -> str | None:
    """What is wrong with the fields of a record of this version and a known status (None: nothing)."""
    unknown = set(record) - Outcome.__required_keys__ - Outcome.__optional_keys__
    if unknown:
        return f"unknown fields {sorted(unknown)}"
    warnings, mutated = record.get("warnings"), record.get("mutated")
    if not isinstance(warnings, list) or not all(
            isinstance(w, dict) and isinstance(w.get("category"), str) and isinstance(w.get("message"), str)
            for w in warnings):
        return "malformed warnings"
    if not _is_str_list(mutated):
        return "malformed mutated arguments"
    if "error" in record or record["status"] == "error":
        error = record.get("error")
        if not (isinstance(error, dict) and isinstance(error.get("type"), str) and _is_str_list(error.get("mro"))
                and isinstance(error.get("message"), str)):
            return "malformed error"
    if "delegated_to" in record and not isinstance(record["delegated_to"], str):
        return "malformed delegated_to"
    if "identity" in record and not isinstance(record["identity"], bool):
        return "malformed identity"
    if record.get("note") is not None and not isinstance(record["note"], str):
        return "malformed note"
    return None


def validated(record: Any) -> Outcome:
    """`record` itself when it is an `Outcome` of this version; else OutcomeError saying why."""
    if not isinstance(record, dict):
        raise OutcomeError(f"an outcome is a record, not {type(record).__name__}")
    version = record.get("version")
    if version != OUTCOME_VERSION or isinstance(version, bool):
        raise OutcomeError(f"outcome record of version {version!r}; this grader reads version {OUTCOME_VERSION}")
    status = record.get("status")
    if status not in OUTCOME_STATUSES:
        raise OutcomeError(f"unknown outcome status {status!r}")
    problem = _shape_problem(record)
    if problem is not None:
        raise OutcomeError(f"outcome record with {problem}")
    return record  # type: ignore[return-value]


def validated_all(records: Any, count: int) -> list[Outcome]:
    """`records` when it is a list of `count` valid outcomes (one per case); else OutcomeError."""
    if not isinstance(records, list) or len(records) != count:
        raise OutcomeError(f"expected a list of {count} outcomes")
    return [validated(r) for r in records]


def to_json(outcomes: Sequence[Outcome]) -> str:
    """The outcomes as JSON (arrays as `.npy` bytes: `plain.encode`)."""
    return plain.encode(list(outcomes))


def from_json(text: str | bytes, count: int) -> list[Outcome]:
    """The `count` outcomes `to_json` wrote; OutcomeError for anything else, data that is not even
    plain data (`plain.PlainDataError`) included."""
    try:
        records = plain.decode(text)
    except plain.PlainDataError as exc:
        raise OutcomeError(str(exc)) from None
    return validated_all(records, count)


# ------------------------------------------------------------------ an exercise's verdict

@dataclass
class Verdict:
    """The judgement on one exercise: passed or not, over how many cases, and the message shown."""

    id: str
    passed: bool
    n_cases: int
    message: str = ""
    not_implemented: bool = False
    reason: str = ""
    #: What the instructor's report records of a failure (nb_helpers.grading.diagnosis): the declared
    #: wrong answer the first failing case matched (its `wrong_answer_ids` id; None: unexplained),
    #: the hint shown, the problem as shown (hidden cases redacted), and how many cases failed.
    mistake: str | None = None
    hint: str = ""
    problem: str = ""
    n_failed: int = 0
    #: A scored check's own pass line (e.g. the capstone's accuracy and parameter count); None: the
    #: generic "all N checks passed".
    summary: str | None = None

    @property
    def status(self) -> VerdictStatus:
        """passed, not_implemented, delegated, memory, missing (the name is not defined) or failed."""
        if self.passed:
            return "passed"
        if self.not_implemented:
            return "not_implemented"
        return self.reason if self.reason in ("delegated", "memory", "missing") else "failed"

    @property
    def pass_line(self) -> str:
        return self.summary or f"{self.id}: all {self.n_cases} checks passed"
