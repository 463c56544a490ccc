"""Worker processes for ``jsonvec encode --jobs N``: batches encoded on every core, in order.

No process-pool library: a pool's manager thread, queues and resource tracker are what hung
and leaked before (a worker killed mid-message left the pool waiting for good; workers
outlived a parent killed with SIGKILL). Instead:

- each worker is a process that builds its encoder once and then encodes the batches it is sent, one
  after another. On Linux it is forked from the main process, before the main process has anything
  to write (a forked worker starts in milliseconds, where a fresh interpreter spends 0.2-0.3 s of a
  core importing numpy and jsonvec, a third of the work of a 50 MB input on two cores); it closes
  every descriptor but its own at once and never returns into the main process's code. Elsewhere it
  is a fresh interpreter (``python -m jsonvec.run.workers.child``);
- ``--jobs N`` is the main process and N-1 workers: a batch goes to a worker that has
  fewer than two batches at hand, and when none has, the main process encodes it itself
  (see :func:`~jsonvec.run.workers.parent.encode_in_workers`), so no core waits and none
  runs two busy processes;
- batches travel through shared memory: every worker has ``channel.SLOTS`` slots (a memory file
  each, mapped by both processes). The main process copies a batch into a slot as one
  block of bytes and three arrays (where each record starts and ends, its line), as it was
  cut from the input (:mod:`jsonvec.records.batches`): it does no work per line. The worker
  encodes the records into the same slot's vector area. Commands on the pipes are a few
  bytes, replies a few bytes more (ids and invalid lines); the main process never has more
  batches at a worker than it has slots, and reads replies in batch order, so neither side
  can wait on the other for good;
- a worker dies with the main process, whatever killed it: Linux delivers it SIGKILL when
  its parent dies (``PR_SET_PDEATHSIG``), and anywhere its command pipe reaches end-of-file;
  it ignores SIGINT (the main process answers Ctrl-C) and holds none of the main process's
  pipes but its own;
- a worker that dies unexpectedly is an error of the run (its pipe ends), never a wait.

Vectors are bit-identical whatever the number of workers (see :mod:`jsonvec.encoding.encoder`), and
results are used in input order, so the output does not depend on it either.

Three modules: :mod:`~jsonvec.run.workers.parent` (the main process's side),
:mod:`~jsonvec.run.workers.child` (the worker's) and :mod:`~jsonvec.run.workers.channel`
(what they share).
"""
