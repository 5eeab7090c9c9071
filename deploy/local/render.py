"""Render a config template (e.g. nginx/edge.conf.template) by substituting ``${NAME}`` placeholders.

Only braced, upper-case placeholders (``${NJS_MODULE_PATH}``) are template variables; everything
else that starts with ``$`` (nginx's ``$uri``, ``$pb_key``, ``${request_id}``...) is left untouched,
so templates need no escaping. A placeholder without a value raises ``KeyError`` naming it.
Values are inserted verbatim: callers must not pass values containing characters that are special
in the target format (for nginx: ``"``, ``'``, ``\\``, ``$``, ``;``, ``{``, ``}`` and whitespace).
"""

from __future__ import annotations

import string
from pathlib import Path


class _BracedTemplate(string.Template):
    # string.Template needs the four named groups; only "braced" can ever match here.
    pattern = r"""
    \$(?:
        (?P<escaped>(?!))
      | (?P<named>(?!))
      | \{(?P<braced>[A-Z][A-Z0-9_]*)\}
      | (?P<invalid>(?!))
    )
    """


def render_template(template_path: str | Path, out_path: str | Path, values: dict[str, str]) -> None:
    """Write ``template_path`` to ``out_path`` with every ``${NAME}`` replaced by ``values[NAME]``.

    Raises ``KeyError`` (listing the template and the missing name) when a placeholder has no value;
    ``out_path`` is then not written. Extra keys in ``values`` are ignored.
    """
    text = Path(template_path).read_text(encoding="utf-8")
    try:
        rendered = _BracedTemplate(text).substitute(values)
    except KeyError as exc:
        raise KeyError(f"{template_path}: no value for template variable {exc.args[0]}") from None
    Path(out_path).write_text(rendered, encoding="utf-8")
