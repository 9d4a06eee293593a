"""Bounds the pack enforces by default, which the program's config accepts exactly.

One owner for a bound two parts enforce: the pack's config schema defaults come from here,
and the program's settings read the same constants, so config the program accepts is never
blocked by its own pack. Standard library only: the program imports this without the pack.
"""

# Lambda's own range for a stream mapping is 0..10000 retries (-1: forever) and 60..604800 s
# of record age (-1: until the record expires); the pack's defaults are tighter.
STREAM_MAX_RETRY_ATTEMPTS = 10
STREAM_MAX_RECORD_AGE_SECONDS = 86_400
STREAM_MIN_RECORD_AGE_SECONDS = 60
LAMBDA_MAX_RETRY_ATTEMPTS = 10_000
LAMBDA_MAX_RECORD_AGE_SECONDS = 604_800
