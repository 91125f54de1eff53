"""Stand-in for the pip bootstrap script that ansible-test downloads.

ansible-test fetches get-pip.py from a host outside the package registries, which a
closed CI network cannot reach. This does the same job with the interpreter's own
ensurepip, then lets pip install the exact versions ansible-test asks for.
"""
import ensurepip
import os
import subprocess
import sys

GET_PIP_ONLY = ('--no-setuptools', '--no-wheel')

# ensurepip points PIP_CONFIG_FILE at /dev/null; pip must then read the system's
# configuration again (index mirror, CA bundle), so it runs with the saved environment.
environment = dict(os.environ)
ensurepip.bootstrap()
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] +
                         [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY],
                         env=environment))
