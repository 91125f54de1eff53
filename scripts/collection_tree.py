"""The ansible_collections/kvmnet/hostnet tree through which Ansible and Python find this checkout.

The repository root is the collection root; Ansible and ``import ansible_collections...``
need it at ansible_collections/kvmnet/hostnet under a collections path. Every caller
gets that tree from here: tests/conftest.py, benchmarks/, scripts/lint, scripts/sanity
and lab/collections.

    python scripts/collection_tree.py [--link DIR]  ensure DIR (.cache/collections) links
                                                    the checkout; print DIR
    python scripts/collection_tree.py --copy DIR  copy what git tracks (and new files)
                                                  to DIR/ansible_collections/kvmnet/hostnet;
                                                  print DIR
"""

import argparse
import errno
import os
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# galaxy.yml's namespace and name.
NAMESPACE, NAME = 'kvmnet', 'hostnet'
DEFAULT_BASE = os.path.join(REPO, '.cache', 'collections')


def collection_dir(base):
    return os.path.join(base, 'ansible_collections', NAMESPACE, NAME)


def linked(base=DEFAULT_BASE):
    """``base`` as a collections path whose kvmnet.hostnet is a link to this checkout."""
    link = collection_dir(base)
    if os.path.islink(link) and os.path.realpath(link) != os.path.realpath(REPO):
        os.remove(link)  # left by another checkout
    if not os.path.lexists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        try:
            os.symlink(REPO, link)
        except OSError as error:  # another process made it first
            if error.errno != errno.EEXIST:
                raise
    return base


# Never copied: caches and environments (what .gitignore lists) outside a git checkout.
UNTRACKED = ('.git', '.cache', '.venv', 'build', '__pycache__', '.pytest_cache')


def source_files():
    """The checkout's files, relative: what git tracks plus new files it does not ignore."""
    try:
        listing = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard', '-z'], cwd=REPO,
                                 check=True, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL).stdout.decode()
        return [path for path in listing.split('\0') if path]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an export)
        found = []
        for top, dirs, files in os.walk(REPO):
            dirs[:] = [name for name in dirs if name not in UNTRACKED]
            found.extend(os.path.relpath(os.path.join(top, name), REPO) for name in files
                         if not name.endswith('.pyc'))
        return found


def copied(base):
    """``base`` as a collections path holding a copy of the checkout's files (no caches)."""
    dest = collection_dir(base)
    for path in source_files():
        source = os.path.join(REPO, path)
        if not os.path.isfile(source):  # deleted in the work tree
            continue
        target = os.path.join(dest, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(source, target)
    return base


def importable(base=DEFAULT_BASE):
    """Make ``import ansible_collections.kvmnet.hostnet`` load this checkout; the path."""
    root = linked(base)
    if root not in sys.path:
        sys.path.insert(0, root)
    return root


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--link', metavar='DIR', default=DEFAULT_BASE,
                        help='the collections path to link the checkout in')
    parser.add_argument('--copy', metavar='DIR', help='copy the tracked files under DIR')
    args = parser.parse_args()
    print(copied(args.copy) if args.copy else linked(args.link))


if __name__ == '__main__':
    main()
