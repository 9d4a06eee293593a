"""The config keys a `Pulumi.yaml` declares in its own namespace: the names its program reads."""

from __future__ import annotations

from failctl.preview.project_config import Project


def declared_names(project: Project) -> frozenset[str]:
    """Bare names the program reads with `pulumi.Config().get(name)`."""
    prefix = f"{project.name}:"
    keys = (declaration.qualified for declaration in project.config.values())
    return frozenset(key.removeprefix(prefix) for key in keys if key.startswith(prefix))
