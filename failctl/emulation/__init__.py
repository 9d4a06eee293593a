"""Lambda's failure semantics offline (retries, destinations, batches), and the demo built on them."""
