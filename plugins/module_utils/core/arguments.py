# -*- coding: utf-8 -*-
# Copyright: kvmnet.hostnet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checking one host_network item against its module's argument spec, quickly.

Ansible's ArgumentSpecValidator costs about 0.1 ms per item: a quarter of a
2,000-link no-op. Most items are already what the validator returns, apart from
the defaults: every value of its option's type (or an int for a float), no alias,
nothing unknown.
``QuickSpec.validate`` recognises exactly those, from the same spec, and fills the
defaults as Ansible does; anything else (a value to convert, a missing required
option, an unknown key, a choice not offered, any spec feature it does not know)
it leaves to Ansible's validator, which decides and words the error. A unit test
holds the two to the same result.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# The spec keys this checker implements; an option using any other key (aliases,
# no_log, fallback, ...) sends its whole spec to Ansible's validator.
_KNOWN_KEYS = frozenset(('type', 'default', 'choices', 'required', 'elements', 'options'))
# Values taken as they are; bool is not an int here (Ansible keeps True for an int
# option, but the item is then odd enough to deserve the real validator).
_EXACT = {'str': (str,), 'int': (int,), 'float': (float,), 'bool': (bool,),
          'dict': (dict,), 'list': (list,)}


class _Option:
    __slots__ = ('name', 'types', 'to_float', 'default', 'choices', 'required', 'elements', 'sub')

    def __init__(self, name, spec):
        self.name = name
        kind = spec.get('type', 'str')
        self.types = None if kind == 'raw' else _EXACT[kind]
        # forward_delay: 0 is as common as 0.0; Ansible turns the int into a float.
        self.to_float = kind == 'float'
        self.default = spec.get('default')
        self.choices = frozenset(spec['choices']) if spec.get('choices') is not None else None
        self.required = bool(spec.get('required'))
        elements = spec.get('elements')
        self.elements = None if elements in (None, 'raw') else _EXACT[elements]
        self.sub = QuickSpec(spec['options']) if spec.get('options') is not None else None


class QuickSpec:
    """An argument spec compiled for ``validate``; ``usable`` is False when the spec uses
    a feature this checker leaves to Ansible (then ``validate`` always returns None)."""

    def __init__(self, spec, **module_kwargs):
        self.usable = not module_kwargs and _simple(spec)
        self.options = [_Option(name, entry) for name, entry in spec.items()] if self.usable else []
        self.names = frozenset(spec)

    def validate(self, raw):
        """What ArgumentSpecValidator(spec).validate(raw).validated_parameters would be,
        or None when only Ansible's validator can say."""
        if not self.usable or not isinstance(raw, dict) or not self.names.issuperset(raw):
            return None
        result = {}
        for option in self.options:
            value = raw.get(option.name)
            if value is None:
                if option.name in raw or option.required:
                    return None  # an explicit null, or a missing required option
                result[option.name] = _copy(option.default)
                continue
            value = _checked(option, value)
            if value is None:
                return None
            result[option.name] = value
        return result


def _checked(option, value):
    """The value as the validator returns it, or None when it is not canonical."""
    if option.types is not None and (type(value) not in option.types):
        if not (option.to_float and isinstance(value, int) and not isinstance(value, bool)):
            return None
        value = float(value)
    if isinstance(value, list):
        if option.elements is not None and any(type(v) not in option.elements for v in value):
            return None
        if option.choices is not None and not option.choices.issuperset(value):
            return None
        if option.sub is not None:
            value = [option.sub.validate(v) for v in value]
            return None if any(v is None for v in value) else value
        return _copy(value)
    if option.choices is not None and value not in option.choices:
        return None
    if option.sub is not None:
        return option.sub.validate(value)
    return _copy(value)


def _simple(spec):
    for entry in spec.values():
        if not isinstance(entry, dict) or not _KNOWN_KEYS.issuperset(entry):
            return False
        if entry.get('type', 'str') not in _EXACT and entry.get('type') != 'raw':
            return False
        if entry.get('type') == 'raw' and entry.get('choices') is not None:
            return False  # a raw value may be a list, which no set of choices can hold
        if entry.get('elements') not in (None, 'raw') and entry['elements'] not in _EXACT:
            return False
        if entry.get('type') == 'list' and entry.get('choices') is not None \
                and entry.get('elements') in (None, 'raw', 'list', 'dict'):
            return False  # elements that may be lists or dicts cannot be looked up in a set
        if entry.get('options') is not None and (
                entry.get('type') not in ('dict', 'list') or not _simple(entry['options'])):
            return False
        if entry.get('options') is not None and entry.get('type') == 'list' \
                and entry.get('elements') != 'dict':
            return False
    return True


def _copy(value):
    """A copy of a JSON-like value: validated params never share a list or dict with the
    input or with the spec's defaults."""
    if isinstance(value, dict):
        return dict((key, _copy(item)) for key, item in value.items())
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
