"""Add up the junit reports of every tier into one closing line."""
import glob
import os
import sys
import xml.etree.ElementTree as ET

reports = sorted(glob.glob(os.path.join(sys.argv[1] if len(sys.argv) > 1 else '.cache/reports', '*.xml')))
totals = dict(passed=0, failed=0, skipped=0)
for path in reports:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == 'testsuite' else root.findall('testsuite')
    tier = dict(passed=0, failed=0, skipped=0)
    for suite in suites:
        tests = int(suite.get('tests', 0))
        failed = int(suite.get('failures', 0)) + int(suite.get('errors', 0))
        skipped = int(suite.get('skipped', 0))
        tier['failed'] += failed
        tier['skipped'] += skipped
        tier['passed'] += tests - failed - skipped
    for key in totals:
        totals[key] += tier[key]
    print('  %-16s %4d passed %4d failed %4d skipped' % (
        os.path.basename(path)[:-4], tier['passed'], tier['failed'], tier['skipped']))
print('all tiers: %d passed, %d failed, %d skipped' % (totals['passed'], totals['failed'], totals['skipped']))
