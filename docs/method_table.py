"""The ``riemannopt-methods`` directive: the table of the integrators, written from the registry
(``riemannopt.integrators.methods``), so that the documentation never disagrees with it."""

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList

from riemannopt.integrators.methods import METHODS


def _converges(m):
    if not m.converges_to:
        return "— (the reference)", "—"
    refs = "; ".join("its own flow" if r is None else f"``{r}``" for r, _ in m.converges_to)
    return refs, "; ".join(str(o) for _, o in m.converges_to)


def _invariance(m):
    return "exact" if m.exactly_invariant else str(m.invariance)


def table_lines():
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 9 45 14 8 10 8",
        "",
        "   * - name",
        "     - update",
        "     - converges to",
        "     - order",
        "     - order of invariance",
        "     - affine invariant",
    ]
    for name, m in METHODS.items():
        refs, orders = _converges(m)
        lines += [
            f"   * - ``{name}``",
            f"     - {m.description}",
            f"     - {refs}",
            f"     - {orders}",
            f"     - {_invariance(m)}",
            f"     - {'yes' if m.affine_invariant else 'no'}",
        ]
    return lines


class MethodTable(Directive):
    has_content = False

    def run(self):
        container = nodes.container()
        self.state.nested_parse(
            StringList(table_lines(), source="riemannopt.integrators.methods"), self.content_offset, container
        )
        return container.children


def setup(app):
    app.add_directive("riemannopt-methods", MethodTable)
    return {"parallel_read_safe": True}
