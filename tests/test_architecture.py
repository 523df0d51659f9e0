"""The import rule of ARCHITECTURE.md, checked on the source: packages stand on floors, a
package imports only from its own floor's packages it is allowed to and from floors below,
and issuing and verifying are peers that never import each other."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Floor of each package, lowest first (see ARCHITECTURE.md).
FLOORS = {
    "errors": 0, "storage": 0, "processes": 0, "contracts": 0, "observability": 0,
    "keys": 1, "webhooks": 1,
    "anchoring": 2, "signing": 2,
    "records": 3,
    "feed": 4,
    "issuer": 5, "verifier": 5,
    "console": 6, "preservation": 6,
    "notary": 7,
}
PEERS_APART = {("issuer", "verifier"), ("verifier", "issuer"), ("anchoring", "signing"), ("signing", "anchoring"),
               ("console", "preservation"), ("preservation", "console")}


def _imports(path: Path, package: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return {name for name in found if name in FLOORS and name != package}


def test_every_package_imports_only_from_below_and_peers_stay_apart():
    wrong = []
    for package, floor in FLOORS.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for imported in _imports(path, package):
                if FLOORS[imported] > floor or (FLOORS[imported] == floor and imported != package) \
                        or (package, imported) in PEERS_APART:
                    wrong.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert wrong == []


def test_the_rule_is_able_to_fail(tmp_path):
    """The checker sees an import of a higher floor (so the test above can fail)."""
    module = tmp_path / "m.py"
    module.write_text("from issuer.service import issue_certificate\n", encoding="utf-8")
    assert _imports(module, "verifier") == {"issuer"}
