"""The component provider the Pulumi CLI starts for `pulumi package add` and for every program
that declares one of these components: the Python SDK's component provider, which infers the
schema from lambda_failures.component_package and builds the components on Construct calls."""

import sys
from importlib.metadata import version

from lambda_failures.component_package import serve

if __name__ == "__main__":
    serve(sys.argv[1:], version("lambda-failures"))
