"""The pinned versions are outside every advisory in security/advisories.json.

pip-audit cannot check anything on this machine (the package mirror answers 404 to its
look-ups), so the table of known advisories is kept by hand and checked here.
"""
import json
import re
from importlib import metadata

import pytest
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.cli import ROOT

ADVISORIES = json.loads((ROOT / "security" / "advisories.json").read_text())


def pins():
    """{normalized name: version} from both requirement files."""
    found = {}
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if not line or line.startswith("-r"):
                continue
            match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)", line)
            assert match, f"{name}: {line!r} is not pinned with =="
            found[canonicalize_name(match.group(1).split("[")[0])] = match.group(2)
    return found


def advisories_for(package, version):
    return [a["id"] for a in ADVISORIES
            if a["package"] == package and Version(version) in SpecifierSet(a["affected"])]


def test_table_is_well_formed():
    assert len(ADVISORIES) >= 30
    for advisory in ADVISORIES:
        assert advisory["package"] == canonicalize_name(advisory["package"])
        assert re.fullmatch(r"(CVE-\d{4}-\d+|GHSA-[\w-]+|PYSEC-[\d-]+)", advisory["id"])
        assert advisory["severity"] in {"low", "moderate", "high", "critical"}
        SpecifierSet(advisory["affected"])  # raises when malformed
        assert advisory["source"].startswith("https://")


@pytest.mark.parametrize("package, version, advisory", [
    # The old stack the tutorials ran on; each must be caught by the table.
    ("werkzeug", "1.0.1", "CVE-2023-25577"),
    ("werkzeug", "1.0.1", "CVE-2024-34069"),
    ("flask", "1.1.4", "CVE-2023-30861"),
    ("pymysql", "1.1.0", "CVE-2024-36039"),
    ("jinja2", "3.1.5", "CVE-2025-27516"),
])
def test_table_catches_the_old_stack(package, version, advisory):
    assert advisory in advisories_for(package, version)


def test_every_pin_is_outside_every_advisory():
    vulnerable = {f"{name}=={version}": advisories_for(name, version)
                  for name, version in pins().items() if advisories_for(name, version)}
    assert vulnerable == {}


def test_installed_versions_are_the_pinned_ones():
    for name, version in pins().items():
        assert metadata.version(name) == version, name


def test_every_installed_package_is_outside_every_advisory():
    vulnerable = {}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        found = advisories_for(name, dist.version)
        if found:
            vulnerable[f"{name}=={dist.version}"] = found
    assert vulnerable == {}
