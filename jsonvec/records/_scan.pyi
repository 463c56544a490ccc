"""Types of the compiled scanners (jsonvec/records/_scan.pyx)."""

from array import array

def advance(
    buffer: bytes, state: tuple[int, int, int, int, int, int, bool, int, int]
) -> tuple[
    list[tuple[int, int, int]], tuple[int, int, int, int, int, int, bool, int, int], int
]: ...
def cut(
    buffer: bytes, pos: int, max_records: int, max_bytes: int, final: bool, line_one: bool
) -> tuple[int, int, bool, array[int], array[int], array[int]]: ...
