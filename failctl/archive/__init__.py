"""Working with the failure archive: stores (bucket or folder), local and Athena queries, replay."""
