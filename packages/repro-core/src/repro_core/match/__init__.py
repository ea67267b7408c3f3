"""Rule matchers: one per source kind, each turning the knowledge base's rules and one source
into ``Match`` values with the exact span, so scan, migrate and diagnose agree on what a rule
matches. The only interpreters of rule patterns.

    from repro_core.match import cpp, python, requirements
    python.find("train.py", text)            # -> [Match] (or a python.parse()d source)
    cpp.find("ext/roi.cu", text)
    requirements.find([Stated("timm", "==0.3.2", "requirements.txt", 3)], read=...)
"""

from repro_core.match import cpp, python, requirements
from repro_core.match.span import Match

__all__ = ["Match", "cpp", "python", "requirements"]
