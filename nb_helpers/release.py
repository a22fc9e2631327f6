"""Where the course lives: the single source of truth for the repository URL and release tag.

The setup cell of every lesson (`conventions.setup_cell_source`) and its "Open in Colab" badge are
generated from these values (`python -m nb_helpers.authoring sync`); a test fails when a notebook
disagrees with them.
"""

from __future__ import annotations

from . import __version__

REPOSITORY = "nn-training-course/nn-training-course"
REPOSITORY_URL = f"https://github.com/{REPOSITORY}"
TAG = f"v{__version__}"
#: Environment variable that replaces the pip install spec in the Colab setup cell (used by tests).
INSTALL_SPEC_ENV = "NB_HELPERS_INSTALL_SPEC"


def install_spec(tag: str = TAG) -> str:
    """The pip requirement that installs this package from the repository at `tag`."""
    return f"nn-training-course @ git+{REPOSITORY_URL}@{tag}"


def colab_url(notebook_path: str, ref: str = TAG) -> str:
    """The "Open in Colab" address of a notebook given by its path inside the repository."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{ref}/{notebook_path}"
