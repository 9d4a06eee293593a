"""The component provider the Pulumi CLI starts for `pulumi package add` and for every program
that declares one of these components: the Python SDK's host infers the schema from
lambda_failures.component_package and builds the components on the engine's Construct calls."""

from importlib.metadata import version

from pulumi.provider.experimental import component_provider_host

from lambda_failures.component_package import COMPONENTS, PACKAGE_NAME

if __name__ == "__main__":
    component_provider_host(COMPONENTS, name=PACKAGE_NAME, version=version("lambda-failures"))
