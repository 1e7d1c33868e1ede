"""``airflow-policies init``: a new policy repository that extends the shipped library instead of forking it.

The repository gets the pin on the installed library (``airflow-policies.yaml``), the registry and rollout to
start from (the library's examples, with comments), an empty rule directory and team-layer folder, Regal's
configuration, CI for GitHub Actions and GitLab, a pre-commit configuration and a README. The file contents
are templates shipped beside this module (``repository_template/``), named without their leading dot so that
no packaging step drops them.
"""

from __future__ import annotations

from pathlib import Path

from airflow_policies._paths import example_registry, example_rollout
from airflow_policies.exceptions import ConfigurationError
from airflow_policies.policy.library import LibraryRelease, installed_library
from airflow_policies.policy.repository import PIN_FILE, RepositoryConfig, pin_library, write_config

__all__ = ["init_repository"]

_TEMPLATES = Path(__file__).parent / "repository_template"
#: Each file of a new repository, and the template it is written from.
_FROM_TEMPLATE = {
    "README.md": "README.md",
    "rego/README.md": "rego-README.md",
    "team_rules/README.md": "team_rules-README.md",
    ".regal/config.yaml": "regal-config.yaml",
    ".github/workflows/policies.yaml": "github-workflow.yaml",
    ".gitlab-ci.yml": "gitlab-ci.yml",
    ".pre-commit-config.yaml": "pre-commit-config.yaml",
    ".gitignore": "gitignore",
}


def _contents(release: LibraryRelease) -> dict[str, str]:
    files = {
        target: (_TEMPLATES / template).read_text().replace("@VERSION@", release.version)
        for target, template in _FROM_TEMPLATE.items()
    }
    files["registry.yaml"] = (_TEMPLATES / "registry-header.yaml").read_text() + example_registry().read_text()
    files["rollout.yaml"] = (_TEMPLATES / "rollout-header.yaml").read_text() + example_rollout().read_text()
    return files


def init_repository(target: Path, release: LibraryRelease | None = None) -> list[Path]:
    """Write a new policy repository into ``target`` (created if missing) on ``release`` (default: the installed
    library); return the files written, the pin file first.

    Raises:
        ConfigurationError: ``target`` is a file, or already holds any file a repository has (nothing is
            written then), or is already inside a policy repository.
    """
    release = release or installed_library()
    if target.exists() and not target.is_dir():
        raise ConfigurationError(f"{target} is a file: give a new or empty folder")
    files = _contents(release)
    present = sorted(name for name in [PIN_FILE, *files] if (target / name).exists())
    if present:
        raise ConfigurationError(
            f"{target} already has {', '.join(present)}: init writes into a new or empty folder and overwrites "
            "nothing (move those files away, or init elsewhere)"
        )
    for folder in target.resolve().parents:
        if (folder / PIN_FILE).is_file():
            raise ConfigurationError(f"{target} is inside the policy repository {folder}: one pin per repository")
    target.mkdir(parents=True, exist_ok=True)
    written = [write_config(target, RepositoryConfig(library=pin_library(release)))]
    for name, content in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        written.append(path)
    (target / "rego" / "airflow_policies" / "rules").mkdir(parents=True, exist_ok=True)
    return written
