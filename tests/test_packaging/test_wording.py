"""The project speaks of itself and its users, not of the machines it is developed on."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

PATTERNS = (r'\blent\b', r'\.\./shared', r'\bissues? #?\d', r'\(issue', r'\b15 minutes\b',
            r'\b64 MiB\b', r'\bdevice time\b')
#: CI's entry point names the checkout's neighbours on purpose; this file names the patterns.
ALLOWED = ('.ci/run', 'tests/test_packaging/test_wording.py')


def test_no_tracked_file_speaks_of_the_development_machines(repo_root: Path):
    if shutil.which('git') is None or not (repo_root / '.git').exists():
        pytest.skip('needs a git checkout')
    names = subprocess.run(['git', 'ls-files', '-z'], cwd=repo_root, capture_output=True,
                           check=True).stdout.decode().split('\0')
    pattern = re.compile('|'.join(PATTERNS), flags=re.IGNORECASE)
    found = []
    for name in names:
        path = repo_root / name
        if not name or name in ALLOWED or not path.is_file() or path.suffix in ('.png', '.pth'):
            continue
        text = path.read_text(errors='ignore')
        found += [f'{name}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}'
                  for m in pattern.finditer(text)]
    assert not found, '\n'.join(found)
