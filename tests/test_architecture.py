"""The layering rules of STYLE.md and issue "One machine-API platform", enforced: import-linter's
contracts in pyproject.toml (database access only in services, no import cycles, services blind to
pages and the machine platform, the platform blind to features)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept():
    result = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Contracts: 5 kept, 0 broken." in result.stdout
