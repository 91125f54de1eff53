"""A tiny QEMU guest (TCG, busybox initramfs) with one virtio NIC on a given tap.

The guest configures eth0 from the kernel command line, prints a marker on the
serial console when its NIC is up, then pings a peer and prints the result, so a
test can prove traffic in both directions. Nothing here is skipped: a missing
qemu, kernel or busybox fails with what to install.
"""

import glob
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(REPO, '.cache', 'vm-guest')
QEMU = 'qemu-system-x86_64'
BUSYBOX = '/bin/busybox'
NIC_MODULES = ('virtio_pci', 'virtio_net')
INSTALL_HINT = ('the QEMU guest needs qemu-system-x86, linux-image-amd64 and busybox-static: '
                'apt-get install -y qemu-system-x86 linux-image-amd64 busybox-static')

# Kernel parameters guest_ip=, guest_peer= drive the guest; markers go to the console.
INIT = r'''#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mount -t devtmpfs dev /dev
for m in $($B cat /mods/list); do $B insmod $m; done
for word in $($B cat /proc/cmdline); do
  case $word in guest_ip=*) IP=${word#guest_ip=};; guest_peer=*) PEER=${word#guest_peer=};; esac
done
$B ip link set lo up
$B ip addr add $IP dev eth0
$B ip link set eth0 up
echo "GUEST-NIC-UP $($B cat /sys/class/net/eth0/address)"
n=0
while [ $n -lt 30 ]; do
  if $B ping -c 1 -W 1 $PEER >/dev/null 2>&1; then echo "GUEST-PING-OK $PEER"; break; fi
  n=$((n+1))
done
[ $n -ge 30 ] && echo "GUEST-PING-FAILED $PEER"
while true; do $B sleep 3600; done
'''


class GuestUnavailable(AssertionError):
    pass


def kernel_image():
    images = sorted(glob.glob('/boot/vmlinuz-*'))
    if not images:
        raise GuestUnavailable('no kernel in /boot: ' + INSTALL_HINT)
    return images[-1]


def require_tools():
    if shutil.which(QEMU) is None:
        raise GuestUnavailable('%s not found: %s' % (QEMU, INSTALL_HINT))
    if not os.path.exists(BUSYBOX):
        raise GuestUnavailable('%s not found: %s' % (BUSYBOX, INSTALL_HINT))
    return kernel_image()


def module_files(release):
    files = []
    for name in NIC_MODULES:
        proc = subprocess.run(['modprobe', '-S', release, '--show-depends', name],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise GuestUnavailable('kernel %s has no module %s: %s' % (release, name, proc.stderr))
        for line in proc.stdout.splitlines():
            # builtin modules print "builtin NAME": nothing to load
            if line.startswith('insmod ') and line.split()[1] not in files:
                files.append(line.split()[1])
    return files


def initramfs(kernel):
    """Build (once per kernel and init script) the guest's initramfs; return its path."""
    release = os.path.basename(kernel)[len('vmlinuz-'):]
    modules = module_files(release)
    key = hashlib.sha1((release + INIT + ' '.join(modules)).encode()).hexdigest()[:12]
    path = os.path.join(CACHE, 'initrd-%s.cpio.gz' % key)
    if os.path.exists(path):
        return path
    os.makedirs(CACHE, exist_ok=True)
    root = tempfile.mkdtemp(dir=CACHE)
    try:
        for sub in ('bin', 'mods', 'proc', 'sys', 'dev'):
            os.mkdir(os.path.join(root, sub))
        shutil.copy(BUSYBOX, os.path.join(root, 'bin', 'busybox'))
        with open(os.path.join(root, 'mods', 'list'), 'w') as listing:
            for module in modules:
                target = os.path.join(root, 'mods', os.path.basename(module))
                shutil.copy(module, target)
                listing.write('/mods/%s\n' % os.path.basename(module))
        with open(os.path.join(root, 'init'), 'w') as handle:
            handle.write(INIT)
        os.chmod(os.path.join(root, 'init'), 0o755)
        names = subprocess.run(['find', '.'], cwd=root, capture_output=True, check=True).stdout
        archive = subprocess.run(['cpio', '-o', '-H', 'newc', '--quiet'], cwd=root, input=names,
                                 capture_output=True, check=True).stdout
        gzip = subprocess.run(['gzip', '-1'], input=archive, capture_output=True, check=True).stdout
        partial = '%s.part.%d' % (path, os.getpid())  # two test workers may build it at once
        with open(partial, 'wb') as handle:
            handle.write(gzip)
        os.rename(partial, path)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return path


class Guest:
    """One running guest; ``stop()`` (or the context manager) kills it."""

    def __init__(self, netns, tap, mac, address, peer, workdir):
        kernel = require_tools()
        self.console = os.path.join(workdir, 'guest-%s.console' % tap)
        argv = ['ip', 'netns', 'exec', netns, QEMU, '-accel', 'tcg', '-cpu', 'max', '-smp', '1',
                '-m', '256M', '-nographic', '-no-reboot', '-nodefaults', '-serial', 'stdio',
                '-kernel', kernel, '-initrd', initramfs(kernel),
                '-append', 'console=ttyS0 quiet panic=-1 guest_ip=%s guest_peer=%s' % (address, peer),
                '-netdev', 'tap,id=n0,ifname=%s,script=no,downscript=no' % tap,
                '-device', 'virtio-net-pci,netdev=n0,mac=%s' % mac]
        self.log = open(self.console, 'w')
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def output(self):
        with open(self.console, errors='replace') as handle:
            return handle.read()

    def wait_for(self, pattern, timeout=60):
        """The first match of ``pattern`` on the console; fails with the console on timeout."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = re.search(pattern, self.output())
            if found:
                return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError('guest never printed %r (qemu %s); console:\n%s' % (
            pattern, 'exited %s' % self.proc.returncode if self.proc.poll() is not None
            else 'still running', self.output()[-4000:]))

    def running(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()
