"""The offline policy gate on the whole stack, next to the bare cost of importing its SDKs."""

from common import row, subprocess_seconds

IMPORTS = "import pulumi, pulumi_aws, pulumi_policy"
GATE = (
    "from failctl.cli import main; import sys, io, contextlib\n"
    "out = io.StringIO()\n"
    "with contextlib.redirect_stdout(out):\n"
    "    code = main(['preview', '-s', 'dev', '--policy-pack', 'policy', '--account', '123456789012'])\n"
    "sys.exit(code)"
)


def main() -> None:
    print("offline gate (median of 5 fresh interpreters)")
    bare = subprocess_seconds("pass")
    imports = subprocess_seconds(IMPORTS)
    gate = subprocess_seconds(GATE)
    print(row("bare interpreter start", bare, "s"))
    print(row("import pulumi, pulumi_aws, pulumi_policy", imports, "s", bare))
    print(row("failctl preview --policy-pack policy", gate, "s", bare))
    print(f"  the gate costs {gate / imports:.2f}x the SDK imports alone ({gate - imports:.2f} s on top)")


if __name__ == "__main__":
    main()
