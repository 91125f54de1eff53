"""Stand-in for the pip bootstrap script that ansible-test downloads.

ansible-test fetches get-pip.py from a host outside the package registries, which a
closed CI network cannot reach. This does the same job with the interpreter's own
ensurepip, then lets pip install the exact versions ansible-test asks for.
"""
import ensurepip
import importlib
import runpy
import sys

GET_PIP_ONLY = ('--no-setuptools', '--no-wheel')

ensurepip.bootstrap()
importlib.invalidate_caches()
sys.argv = ['pip', 'install'] + [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
runpy.run_module('pip', run_name='__main__', alter_sys=True)
