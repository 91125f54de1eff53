# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A planned set of file changes: compared first, shown in check and diff mode,
then written atomically (a temporary file renamed over the old one)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import tempfile

from ansible_collections.kvmnet.hostnet.plugins.module_utils.core import checkpoint


def read_bytes(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def _encoded(content):
    return content if isinstance(content, bytes) else content.encode('utf-8')


def _shown(content):
    """Text for a diff; a binary file shows as its size."""
    if content is None:
        return ''
    try:
        return content.decode('utf-8')
    except UnicodeDecodeError:
        return '<%d bytes of binary content>\n' % len(content)


class FilePlan:
    """Files to have with given content and mode, files to remove, symlinks."""

    def __init__(self, root='/'):
        self.root = root
        self.changes = []

    def path(self, relative):
        return os.path.join(self.root, relative)

    def want(self, relative, content, mode=0o600):
        path = self.path(relative)
        before = None if os.path.islink(path) else read_bytes(path)
        content = _encoded(content)
        if before != content or _mode(path) != mode:
            self.changes.append(('write', path, before, content, mode))

    def remove(self, relative):
        path = self.path(relative)
        if os.path.islink(path) or os.path.exists(path):
            self.changes.append(('remove', path, read_bytes(path), None, None))

    def link(self, relative, target):
        path = self.path(relative)
        if not (os.path.islink(path) and os.readlink(path) == target):
            self.changes.append(('link', path, None, target, None))

    @property
    def paths(self):
        return [change[1] for change in self.changes]

    def summaries(self):
        return ['%s %s' % (change[0], change[1]) for change in self.changes]

    def diffs(self):
        return [dict(before_header=path, after_header=path, before=_shown(before),
                     after=_shown(after) if action != 'link' else '-> %s\n' % after)
                for action, path, before, after, _mode_ in self.changes]

    def apply(self):
        # Under a pending commit-confirmed checkpoint of this run, its confirmation writes them.
        if checkpoint.stage_changes(self.changes):
            return
        for action, path, _before, after, mode in self.changes:
            if action == 'remove':
                os.remove(path)
                continue
            directory = os.path.dirname(path)
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o755)
            if action == 'link':
                if os.path.islink(path) or os.path.exists(path):
                    os.remove(path)
                os.symlink(after, path)
                continue
            handle, temporary = tempfile.mkstemp(dir=directory, prefix='.kvmnet-')
            try:
                os.write(handle, after)
                os.fchmod(handle, mode)
                os.fsync(handle)
            finally:
                os.close(handle)
            os.rename(temporary, path)


def _mode(path):
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return None
