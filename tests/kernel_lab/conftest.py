"""Fixtures shared by the kernel-lab tier.

These tests need kernel features that CI hosts often lack (802.1Q, bonding,
team), so they run only inside the QEMU guest started by tests/kernel_lab/run.
Anywhere else every test errors with that instruction: nothing is skipped
silently. The repository's host-side pytest configuration excludes this
directory; the `kernel_lab` marker is there for `-m` selection.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import platform
import shlex
import signal
import subprocess
import time
import uuid

import pytest
from pyroute2 import IPRoute

RUN_HINT = "kernel-lab tests run only inside the QEMU guest: use tests/kernel_lab/run"
NAMESPACE_PREFIX = "kl-"
COMMAND_TIMEOUT = 60
KERNEL_LAB_DIR = pathlib.Path(__file__).resolve().parent
AUTOLOAD_TEST = "test_link_kind_autoloads_its_module"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "kernel_lab: needs the QEMU kernel lab (tests/kernel_lab/run)"
    )
    config.addinivalue_line(
        "markers", "boot(n): runs in the n-th boot of the reboot sequence on one disk "
        "(tests/kernel_lab/run boots it after the main guest)"
    )


def pytest_collection_modifyitems(config, items):
    # This hook sees the whole session, not only this directory.
    for item in items:
        if KERNEL_LAB_DIR in item.path.resolve().parents:
            item.add_marker(pytest.mark.kernel_lab)
    # A test of the reboot sequence runs in its boot only; the rest in the main guest.
    boot = os.environ.get("KERNEL_LAB_BOOT")
    selected, deselected = [], []
    for item in items:
        marker = item.get_closest_marker("boot")
        if boot == "all":  # tests/kernel_lab/run asks which boot tests -k selects
            wanted = marker is not None
        else:
            wanted = str(marker.args[0]) == boot if marker else boot is None
        (selected if wanted else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected
    # The autoload proofs need a guest where no test has loaded 8021q, bonding or team
    # yet (a team_mode_* module pins team): they run first, whatever the file order.
    items.sort(key=lambda item: getattr(item, "originalname", item.name) != AUTOLOAD_TEST)


class NetnsCommandError(AssertionError):
    """A command inside a namespace exited non-zero; carries its output."""


def run_in_netns(
    namespace: str, *argv: str, check: bool = True, timeout: float = COMMAND_TIMEOUT
) -> subprocess.CompletedProcess:
    """Run argv inside a named namespace; never through a shell."""
    command = ["ip", "netns", "exec", namespace, *argv]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise NetnsCommandError(
            f"{shlex.join(command)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


@dataclasses.dataclass(frozen=True)
class NetNamespace:
    name: str

    def run(self, *argv: str, check: bool = True, timeout: float = COMMAND_TIMEOUT):
        return run_in_netns(self.name, *argv, check=check, timeout=timeout)

    def iproute(self) -> IPRoute:
        # flags=0: fail on a missing namespace instead of quietly creating one.
        return IPRoute(netns=self.name, flags=0)

    def pids(self) -> list[int]:
        result = subprocess.run(
            ["ip", "netns", "pids", self.name],
            capture_output=True,
            text=True,
            check=False,
        )
        return [int(pid) for pid in result.stdout.split()]


@pytest.fixture(scope="session", autouse=True)
def kernel_lab_guest():
    """Fail every test, loudly, unless this is the kernel-lab guest."""
    if os.environ.get("KERNEL_LAB_GUEST") != "1":
        pytest.fail(f"{RUN_HINT} (KERNEL_LAB_GUEST is not set)", pytrace=False)
    if os.geteuid() != 0:
        pytest.fail(f"kernel-lab tests need root. {RUN_HINT}", pytrace=False)
    # A dry run: loading here would spoil the autoload tests.
    probe = subprocess.run(
        ["modprobe", "--dry-run", "8021q"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        pytest.fail(
            f"kernel {platform.release()} cannot load 8021q "
            f"({probe.stderr.strip()}). {RUN_HINT}",
            pytrace=False,
        )


def _stop_processes(namespace: NetNamespace, grace_seconds: float = 5.0) -> None:
    # teamd -d and similar daemons outlive the test and would keep a deleted
    # namespace (and its devices) alive, so anything still inside goes.
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = namespace.pids()
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace_seconds
        while pids and time.monotonic() < deadline:
            time.sleep(0.1)
            pids = namespace.pids()
        if not pids:
            return
    raise RuntimeError(f"processes {pids} survived SIGKILL in namespace {namespace.name}")


@pytest.fixture
def netns(kernel_lab_guest):
    """Factory: netns() makes a throwaway named namespace, removed at teardown."""
    created: list[NetNamespace] = []

    def create() -> NetNamespace:
        namespace = NetNamespace(f"{NAMESPACE_PREFIX}{uuid.uuid4().hex[:8]}")
        subprocess.run(
            ["ip", "netns", "add", namespace.name],
            capture_output=True,
            text=True,
            check=True,
        )
        created.append(namespace)
        run_in_netns(namespace.name, "ip", "link", "set", "lo", "up")
        return namespace

    yield create

    problems = []
    for namespace in reversed(created):
        try:
            _stop_processes(namespace)
        except RuntimeError as error:
            problems.append(str(error))
        deleted = subprocess.run(
            ["ip", "netns", "delete", namespace.name],
            capture_output=True,
            text=True,
            check=False,
        )
        if deleted.returncode != 0:
            problems.append(f"ip netns delete {namespace.name}: {deleted.stderr.strip()}")
    if problems:
        pytest.fail("namespace cleanup failed:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def netns_run():
    """run_in_netns(namespace_name, *argv, check=True) for namespaces made elsewhere."""
    return run_in_netns


class InProcessModules:
    """Runs kvmnet.hostnet modules inside this pytest process, one call per task.

    Under TCG emulation one ansible-playbook costs 30-60 s of interpreter start-up and
    plugin loading, which would make this tier the longest part of CI. The module
    code, its argument spec and its check/diff handling are exactly what Ansible runs
    (the arguments arrive as ANSIBLE_MODULE_ARGS, as AnsiballZ hands them over); only
    the controller is left out. test_ansible_path.py keeps proving the full
    ansible-playbook path in this guest. Same interface as the `playbook` fixture.
    """

    PREFIX = "kvmnet.hostnet."

    def __call__(self, *tasks):
        return [self._task(task) for task in tasks]

    def one(self, module, check=False, diff=True, **args):
        return self._task({module: args, "check_mode": check, "diff": diff})

    def _task(self, task):
        modules = [key for key in task if key.startswith(self.PREFIX)]
        if len(modules) != 1:
            raise AssertionError("one kvmnet.hostnet module per task, got %r" % sorted(task))
        return self.run(modules[0], task[modules[0]], task.get("check_mode", False),
                        task.get("diff", False))

    @staticmethod
    def run(module, args, check_mode, diff):
        from inprocess import run_module

        return run_module(module, args, check_mode, diff)


class TargetInterpreterModules(InProcessModules):
    """Runs each module under another interpreter (a row of tests/matrix), one process
    per task: ``PYTHON -m <module> ARGS_FILE``, the way Ansible's module debugging runs
    one. The interpreter must import ansible.module_utils and the collection (the
    wrapper tests/matrix/setup.py writes sets its PYTHONPATH)."""

    def __init__(self, python, workdir):
        self.python = python
        self.workdir = workdir

    def run(self, module, args, check_mode, diff):
        import json

        arguments = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        path = os.path.join(self.workdir, "args-%s.json" % uuid.uuid4().hex[:8])
        with open(path, "w") as handle:
            json.dump({"ANSIBLE_MODULE_ARGS": arguments}, handle)
        name = "ansible_collections.kvmnet.hostnet.plugins.modules." + module.split(".")[-1]
        proc = subprocess.run([self.python, "-m", name, path], capture_output=True,
                              text=True, timeout=300, check=False)
        lines = proc.stdout.strip().splitlines()
        if not lines:
            raise AssertionError("%s under %s printed no result (exit %d): %s" % (
                module, self.python, proc.returncode, proc.stderr[-3000:]))
        result = json.loads(lines[-1])
        result.setdefault("changed", False)
        return result


def pytest_addoption(parser):
    parser.addoption("--target-python", default=None,
                     help="run modules with this interpreter instead of in-process")


@pytest.fixture
def play(request, tmp_path):
    python = request.config.getoption("--target-python")
    if python:
        return TargetInterpreterModules(python, str(tmp_path))
    return InProcessModules()
