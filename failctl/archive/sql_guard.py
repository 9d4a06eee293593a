"""What `failctl query --sql` accepts and how long and how large it may run.

The query is someone else's text: it is refused before parsing when it nests deeper than
the parser can recurse (sqlglot recurses about twenty frames per parenthesis), refused
after parsing when any node anywhere in it changes data or state (a DELETE inside a CTE is
as much a DELETE as one at the top), and run under a time limit (DuckDB has no statement
timeout: the connection is interrupted from a timer) and a memory limit (DuckDB's own
default is 80% of the machine's memory).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

# sqlglot warns on stderr when it reads a statement it does not know as a Command (`CALL ...`):
# the refusal of that Command is the one line the operator gets, not the warning before it.
logging.getLogger("sqlglot").addHandler(logging.NullHandler())

# Far beyond what a query a person writes nests, well within what the parser can recurse.
MAX_PARENTHESES = 32
DEFAULT_TIMEOUT_SECONDS = 120


def default_memory_limit_mb() -> int:
    """Half of this machine's memory (DuckDB's own default is 80%), in MiB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 4096
    return max(256, total // 2 // 2**20)


@dataclass(frozen=True)
class QueryLimits:
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    memory_limit_mb: int | None = None  # None: half of this machine's memory


class QueryRefusedError(ValueError):
    """The query is not one `--sql` runs, or it ran past its limits; the message says which."""


# Nodes that change data, schema, settings or the session, wherever they sit in the tree.
_CHANGES = tuple(
    getattr(exp, name)
    for name in (
        "DML", "DDL", "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "Command",
        "Copy", "Set", "Pragma", "TruncateTable", "Attach", "Detach", "Use", "Transaction",
        "Commit", "Rollback", "LoadData", "Install", "Export", "Refresh", "Cache", "Uncache",
        "Kill", "Analyze", "Grant", "Revoke", "Comment", "Into",
    )
    if hasattr(exp, name)
)  # fmt: skip

# A quoted string or identifier, a comment, or a parenthesis.
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/|[()]", re.DOTALL)


def nesting(sql: str) -> int:
    """The deepest parenthesis nesting outside strings, identifiers and comments."""
    depth = deepest = 0
    for match in _TOKEN.finditer(sql):
        token = match.group()
        if token == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif token == ")":
            depth -= 1
    return deepest


def parse(sql: str) -> list[exp.Expr | None]:
    """sqlglot's statements, or QueryRefusedError naming why it cannot be read safely."""
    if nesting(sql) > MAX_PARENTHESES:
        raise QueryRefusedError(f"the query nests parentheses deeper than {MAX_PARENTHESES} levels")
    try:
        return sqlglot.parse(sql, read="athena")
    except sqlglot.errors.ParseError as error:
        raise QueryRefusedError(f"not SQL that Athena reads: {str(error).splitlines()[0]}") from None
    except RecursionError:
        raise QueryRefusedError("the query nests too deeply to read") from None


def refuse_changes(tree: exp.Expr) -> None:
    """Refuse a statement in which any node, at any depth, changes data or state."""
    for node in tree.walk():
        if isinstance(node, _CHANGES):
            raise QueryRefusedError(f"queries only read; this one contains {node.key.upper()}")


def check(sql: str) -> None:
    """Whatever engine runs it: readable without deep recursion, and changing nothing."""
    for tree in parse(sql):
        if tree is not None:
            refuse_changes(tree)


def apply_limits(con: duckdb.DuckDBPyConnection, limits: QueryLimits) -> None:
    """The memory limit, with spilling to disk switched off so it binds."""
    megabytes = limits.memory_limit_mb or default_memory_limit_mb()
    con.execute(f"SET memory_limit = '{int(megabytes)}MB'")
    con.execute("SET max_temp_directory_size = '0B'")


def run(
    con: duckdb.DuckDBPyConnection, sql: str, parameters: list[Any], limits: QueryLimits
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """(column names, rows) of the query, interrupted once it runs past the time limit."""
    timer = threading.Timer(limits.timeout_seconds, con.interrupt)
    timer.daemon = True
    timer.start()
    try:
        cursor = con.execute(sql, parameters)
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    except duckdb.InterruptException:
        raise QueryRefusedError(
            f"the query ran longer than {limits.timeout_seconds:g} s and was stopped (--timeout)"
        ) from None
    except duckdb.OutOfMemoryException:
        megabytes = limits.memory_limit_mb or default_memory_limit_mb()
        raise QueryRefusedError(f"the query needed more than {megabytes} MB of memory (--memory-limit)") from None
    finally:
        # Joined, not only cancelled: a timer thread still ending while the interpreter exits
        # tears down under DuckDB's connection and aborts the process (exit 134, half the time).
        timer.cancel()
        timer.join()
    return names, rows
