"""JSON in: inputs read as numbered records (JSON Lines, documents, gzip, stdin), cut into
batches of bytes, paths into values, and the Python values a record may hold."""
