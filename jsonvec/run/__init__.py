"""An encoding run: options and their checks, the streaming loop from inputs to an output,
batches encoded here or in worker processes, and the commit or append at the end."""
