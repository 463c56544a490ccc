"""Types of the compiled document scanner (jsonvec/_scan.pyx)."""

def advance(
    buffer: bytes, state: tuple[int, int, int, int, int, int, bool, int, int]
) -> tuple[
    list[tuple[int, int, int]], tuple[int, int, int, int, int, int, bool, int, int], int
]: ...
