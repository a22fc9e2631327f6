"""The third-party internals `nb_helpers.compat` replaces, and those the course's subclasses
override, still have the shape relied on; the installed versions are among those verified."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import tomllib

import pytest

from nb_helpers import compat
from tests.support.course import REPO
from tests.support.probes import modules_loaded_by


def source(obj) -> str:
    return inspect.getsource(obj)


def parameters(func) -> list[str]:
    return list(inspect.signature(func).parameters)


# ------------------------------------------------------------------ versions

def test_the_installed_versions_are_those_compat_was_verified_on():
    problems = compat.unverified_versions()
    assert not problems, "\n".join(problems)


def test_an_unverified_version_names_the_patches_to_recheck(monkeypatch):
    monkeypatch.setitem(compat.VERIFIED, "nbgrader", ("0.0.1",))
    from importlib import metadata

    installed = metadata.version("nbgrader")
    [problem] = compat.unverified_versions()
    assert problem.startswith(f"nbgrader {installed} is not a version nb_helpers.compat was verified on")
    assert "re-check use_nbgrader_jsonschema, nbgrader_create_engine, nbgrader_alembic_version" in problem
    assert problem.endswith("and update VERIFIED")


def test_every_patch_is_listed_with_verified_distributions():
    patches = {name for name, obj in vars(compat).items() if inspect.isfunction(obj) and obj.__module__ == compat.__name__
               and not name.startswith("_") and name != "unverified_versions"}
    assert patches <= set(compat.DEPENDS_ON), f"compat functions missing from DEPENDS_ON: {patches - set(compat.DEPENDS_ON)}"
    assert {d for dists in compat.DEPENDS_ON.values() for d in dists} <= set(compat.VERIFIED)


def test_the_verified_nbgrader_versions_are_within_the_package_bounds():
    from packaging.requirements import Requirement

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    bounds = [Requirement(r) for group in ("lab", "grading") for r in extras[group] if Requirement(r).name == "nbgrader"]
    assert bounds and all(str(b.specifier) == "<0.10,>=0.9.6" for b in bounds)
    assert all(b.specifier.contains(v) for b in bounds for v in compat.VERIFIED["nbgrader"])


def test_importing_compat_imports_no_third_party_library():
    loaded = modules_loaded_by("import nb_helpers.compat")
    assert not {"nbgrader", "jsonschema", "jupyter_client", "nbclient", "sqlalchemy", "torch", "numpy",
                "traitlets"} & loaded


# ------------------------------------------------------------------ nbgrader

def test_nbgrader_validates_cell_metadata_through_its_module_level_jsonschema():
    import jsonschema
    from nbgrader.nbgraderformat import common

    from nb_helpers.grading.schema import _JsonschemaWithCheckedSchemas

    # jsonschema itself, or (once check_schemas_once ran in this process) the replacement
    assert common.jsonschema is jsonschema or isinstance(common.jsonschema, _JsonschemaWithCheckedSchemas)
    assert re.search(r"^import jsonschema$", source(common), re.MULTILINE)
    assert "jsonschema.validate(cell.metadata['nbgrader'], self.schema)" in source(common.BaseMetadataValidator.validate_cell)
    assert parameters(jsonschema.validate)[:3] == ["instance", "schema", "cls"]


def test_gradebook_makes_its_engine_and_asks_its_schema_revision_through_nbgrader_api():
    import nbgrader.api
    import sqlalchemy

    assert nbgrader.api.create_engine is sqlalchemy.create_engine
    assert parameters(nbgrader.api.get_alembic_version) == []
    init = source(nbgrader.api.Gradebook.__init__)
    assert "create_engine(db_url, echo=False, future=True)" in init
    assert "get_alembic_version()" in init


def test_the_gradebook_uses_the_replacements_within_the_blocks_only(tmp_path):
    import nbgrader.api
    import sqlalchemy

    made, asked = [], []

    def engine(url, **kwargs):
        made.append(str(url))
        return sqlalchemy.create_engine(url, **kwargs)

    def revision():
        asked.append(True)
        return "0123456789ab"

    originals = nbgrader.api.create_engine, nbgrader.api.get_alembic_version
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with compat.nbgrader_create_engine(engine), compat.nbgrader_alembic_version(revision):
        with nbgrader.api.Gradebook(url) as gb:
            assert gb.assignments == []
    assert made == [url] and asked == [True]
    assert (nbgrader.api.create_engine, nbgrader.api.get_alembic_version) == originals


# ------------------------------------------------------------------ jupyter_client and nbclient

def test_kernel_client_channels_accept_a_get_msg_and_nbclient_awaits_it_with_a_timeout():
    import nbclient.client
    from jupyter_client.asynchronous.client import AsyncKernelClient
    from jupyter_client.channels import AsyncZMQSocketChannel

    for name in ("shell_channel_class", "iopub_channel_class"):
        assert AsyncKernelClient.class_traits()[name].default_value is AsyncZMQSocketChannel
    assert not any("__slots__" in vars(k) for k in AsyncZMQSocketChannel.__mro__[:-1])  # instances take attributes
    assert inspect.iscoroutinefunction(AsyncZMQSocketChannel.get_msg)
    assert parameters(AsyncZMQSocketChannel.get_msg) == ["self", "timeout"]
    assert "raise Empty" in source(AsyncZMQSocketChannel.get_msg)  # what _polled_in_slices catches
    client = source(nbclient.client)
    assert "self.kc.shell_channel.get_msg(timeout=" in client and "self.kc.iopub_channel.get_msg(timeout=" in client


def test_wrap_get_msg_wraps_the_shell_and_iopub_channels_only():
    class Channel:
        def get_msg(self, timeout=None):
            return "reply"

    class Client:
        shell_channel, iopub_channel, stdin_channel = Channel(), Channel(), Channel()

    kc = Client()
    assert compat.wrap_get_msg(kc, lambda get_msg: lambda timeout=None: ("wrapped", get_msg(timeout))) is kc
    assert kc.shell_channel.get_msg() == kc.iopub_channel.get_msg() == ("wrapped", "reply")
    assert kc.stdin_channel.get_msg() == "reply"


def test_the_kernel_manager_internals_sandbox_kernel_manager_overrides():
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_client.provisioning.provisioner_base import KernelProvisionerBase

    launch = AsyncKernelManager._async_launch_kernel
    assert inspect.iscoroutinefunction(launch) and parameters(launch) == ["self", "kernel_cmd", "kw"]
    body = source(launch)  # SandboxKernelManager runs the same steps from its spawner thread
    assert "self.provisioner.launch_kernel(kernel_cmd, **kw)" in body
    assert "self._reconcile_connection_info(connection_info)" in body
    assert "await self._async_launch_kernel(kernel_cmd, **kw)" in source(AsyncKernelManager._async_start_kernel)
    assert parameters(AsyncKernelManager._reconcile_connection_info) == ["self", "info"]
    assert parameters(KernelProvisionerBase.launch_kernel) == ["self", "cmd", "kwargs"]
    assert parameters(AsyncKernelManager.format_kernel_cmd) == ["self", "extra_arguments"]


def test_the_execute_internals_resilient_execute_overrides():
    from nbclient.client import NotebookClient
    from nbgrader.preprocessors import Execute

    assert parameters(Execute.preprocess) == ["self", "nb", "resources", "km"]
    assert parameters(Execute.preprocess_cell) == ["self", "cell", "resources", "index"]
    assert parameters(NotebookClient._get_timeout) == ["self", "cell"]
    assert parameters(NotebookClient.output) == ["self", "outs", "msg", "display_id", "cell_index"]
    assert "self.start_new_kernel_client()" in source(NotebookClient.setup_kernel)
    assert "self.create_kernel_manager()" in source(NotebookClient.setup_kernel)


# ------------------------------------------------------------------ torch

def test_jsonschema_imports_rfc3987_syntax_for_its_iri_checks_only_and_without_it_still_validates():
    import jsonschema._format as formats

    text = source(formats)
    assert "with suppress(ImportError):\n        from rfc3987_syntax import" in text
    probe = ("from nb_helpers import compat\n"
             "compat.skip_iri_format_checks()\n"
             "import sys, jsonschema\n"
             "jsonschema.validate({'a': 1}, {'type': 'object', 'properties': {'a': {'type': 'integer'}}})\n"
             "print(sys.modules['rfc3987_syntax'] is None)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_inductor_takes_its_deterministic_flag_from_the_environment_and_use_deterministic_algorithms():
    pytest.importorskip("torch")
    import torch
    import torch._inductor.config as inductor

    assert isinstance(inductor.deterministic, bool)
    assert 'os.getenv("TORCHINDUCTOR_DETERMINISTIC") == "1"' in source(inductor)
    assert "inductor_config.deterministic = mode" in source(torch.use_deterministic_algorithms)
