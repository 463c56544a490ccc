"""Types of the compiled string distance and field scores (jsonvec/search/_distance.pyx)."""

from typing import Any

def osa_distance(a: str, b: str) -> int: ...
def score_records(
    records: list[Any],
    plans: list[Any],
    held: list[list[bool]],
    out: Any,
    similarity: Any,
    values_at: Any,
    almost: float,
    memo_values: int,
) -> None: ...
