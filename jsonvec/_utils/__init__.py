"""Helpers every layer may use: atomic files, writes behind a thread, a bounded cache,
machine-independent sums, interrupts that are never lost, and the checks of public
arguments. They import nothing of jsonvec but its errors."""
