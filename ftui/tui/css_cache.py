"""The workbench's parsed stylesheet, kept between starts as bytecode is.

Textual parses every CSS source, app.tcss and each widget's DEFAULT_CSS, on every start: some
50 ms, more than a bare Textual app spends from its imports to its first frame. What a source
parses to depends only on its text, where it was read from, how it was added (default CSS or
not, its tie breaker and scope), the theme's variables and Textual itself; so the rules are
pickled under a hash of all of those in the user's cache folder, and read back (a few ms) on the
next start. A source with errors is never stored (Textual reports them as it always does), a
file that cannot be read or written is a miss, and any other Textual or Python or a changed
source is another hash. The folder is as trusted as the bytecode beside the code: only the user
writes there.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from textual.css.stylesheet import Stylesheet

if TYPE_CHECKING:
    from textual.css.model import RuleSet
    from textual.css.types import CSSLocation

# Bumped when what is stored changes shape.
FORMAT = 1


def css_cache_dir() -> Path:
    """$XDG_CACHE_HOME/ftui/css, else ~/.cache/ftui/css: regenerable, so not in ftui's home."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or "~/.cache"
    return Path(base).expanduser() / "ftui" / "css"


def _textual_stamp() -> str:
    """Which Textual parsed the rules, without the package metadata (slow to read): the size
    and mtime of its CSS modules, which any upgrade or reinstall changes."""
    import textual.css.model
    import textual.css.parse
    import textual.css.styles

    stamps = []
    for module in (textual.css.model, textual.css.parse, textual.css.styles):
        stat = os.stat(module.__file__ or "")
        stamps.append(f"{module.__file__}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(stamps)


class CachedStylesheet(Stylesheet):
    """A Textual stylesheet that reads each source's parsed rules from `cache_dir` when it can,
    and writes them there when it had to parse them."""

    def __init__(self, *, variables: dict[str, str] | None = None, cache_dir: Path) -> None:
        super().__init__(variables=variables)
        self.cache_dir = cache_dir
        self.hits = 0
        self.misses = 0
        self._stamp: str | None = None

    def _parse_rules(
        self,
        css: str,
        read_from: CSSLocation,
        is_default_rules: bool = False,
        tie_breaker: int = 0,
        scope: str = "",
    ) -> list[RuleSet]:
        memory_key = (css, read_from, is_default_rules, tie_breaker, scope)
        if memory_key in self._parse_cache:
            rules: list[RuleSet] = self._parse_cache[memory_key]
            return rules
        path = self.cache_dir / f"{self._digest(*memory_key)}.pickle"
        cached = _load(path)
        if cached is not None:
            self.hits += 1
            self._parse_cache[memory_key] = cached
            return cached
        self.misses += 1
        rules = super()._parse_rules(css, read_from, is_default_rules, tie_breaker, scope)
        if not any(rule.errors for rule in rules):
            _store(path, rules)
        return rules

    def _digest(
        self,
        css: str,
        read_from: CSSLocation,
        is_default_rules: bool,
        tie_breaker: int,
        scope: str,
    ) -> str:
        if self._stamp is None:
            self._stamp = _textual_stamp()
        digest = hashlib.sha256()
        variables = sorted(self._variables.items())
        for part in (FORMAT, sys.version, self._stamp, read_from, is_default_rules, tie_breaker):
            digest.update(repr(part).encode() + b"\0")
        for part in (scope, repr(variables), css):
            digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
        return digest.hexdigest()


def _load(path: Path) -> list[RuleSet] | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        rules = pickle.loads(data)
    except Exception:  # truncated, or from a Textual whose classes are gone: parse again
        return None
    return rules if isinstance(rules, list) else None


def _store(path: Path, rules: list[RuleSet]) -> None:
    """Write atomically (a temp file renamed over): other ftui processes may read it now."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = pickle.dumps(rules, protocol=pickle.HIGHEST_PROTOCOL)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except Exception:  # a cache that cannot be written is only slower
        return
