"""Records to vectors: the walk of a record into leaves at paths, leaf codes, binding by
role, accumulation, the compiled core and its reference in Python, and unbinding (probe)."""
