"""``repro migrate``: rewrite deprecated APIs for a newer stack, at the exact spans the rules'
matchers report (so scan, migrate and diagnose agree about what a rule matches).

    from repro_core.migrate import migrate
    result = migrate("path/to/repo", target="torch==2.14,timm==1.0", mode="diff")
    result.changes, result.review, result.failed     # -> MigrationResult (to_json/from_json)

Python codemods use libcst (formatting and comments kept), C++/CUDA ones edit code tokens
only. Safe rules are applied; needs-review rules are reported with the suggested change and
applied only when named in ``rules``.
"""

from repro_core.migrate.result import Change, Failure, MigrationResult
from repro_core.migrate.runner import migrate, select_rules
from repro_core.migrate.target import installed_target, parse_target

__all__ = ["Change", "Failure", "MigrationResult", "installed_target", "migrate",
           "parse_target", "select_rules"]
