"""The SHACL shapes as SPARQL queries, run by Oxigraph on a batch of descriptions.

pyshacl walks every focus node in Python (~80 us per triple); the same constraints as one query
each over an in-memory Oxigraph store check a fleet-sized batch in well under a second. The
shapes file stays the one source: every constraint is compiled from it, and a shape that uses
anything this compiler does not know (another target kind, a severity, a constraint component
not listed below) raises `Unsupported`, so that the caller validates with pyshacl instead.
tests/test_semantic_shacl.py checks that both refuse the same descriptions with the same
violations.

Known: sh:targetClass; property shapes with an IRI, inverse or sequence path and sh:minCount,
sh:maxCount, sh:datatype (xsd:string, integer, boolean, dateTime, well-formed), sh:minInclusive,
sh:minExclusive, sh:in, sh:class, sh:pattern, sh:node (a node shape of the same kinds),
sh:qualifiedValueShape [sh:class C] with sh:qualifiedMinCount/MaxCount; SPARQL-based constraints
(sh:sparql with sh:select and sh:prefixes). Every constraint needs an sh:message.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from itertools import count
from typing import Any

from rdflib import RDF, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH

BATCH = "urn:tte:validation:batch"  # the named graph holding the descriptions being checked
RDFS_SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"

# lexical forms each datatype accepts, as a SPARQL cast that fails on an ill-typed literal
_WELL_FORMED = {
    XSD.string: None, XSD.integer: f"<{XSD.integer}>", XSD.boolean: f"<{XSD.boolean}>",
    XSD.dateTime: f"<{XSD.dateTime}>",
}
_PROPERTY_KEYS = {SH.path, SH.message, SH.minCount, SH.maxCount, SH.datatype, SH.minInclusive, SH.minExclusive,
                  SH["in"], SH["class"], SH.pattern, SH.flags, SH.node, SH.qualifiedValueShape,
                  SH.qualifiedMinCount, SH.qualifiedMaxCount, SH.name, SH.description}
_NODE_KEYS = {RDF.type, SH.targetClass, SH.property, SH.sparql, SH.name, SH.description}


class Unsupported(Exception):
    """The shapes use something this compiler does not translate (validate with pyshacl)."""


@dataclass(frozen=True)
class Check:
    """One SPARQL query whose solutions are violations: ?this (focus), optionally ?value."""
    query: str
    path: Any  # the rdflib path term as the shapes graph has it (None for a SPARQL constraint)
    message: str
    has_value: bool  # the query binds ?value
    focus_is_value: bool = False  # a SPARQL constraint of a node shape: SHACL reports the focus as the value


def _term(t: Any) -> str:
    if isinstance(t, URIRef):
        return f"<{t}>"
    if isinstance(t, Literal):
        return t.n3()
    raise Unsupported(f"term {t!r}")


def sparql_path(shapes: Graph, p: Any) -> str:
    if isinstance(p, URIRef):
        return f"<{p}>"
    inverse = shapes.value(p, SH.inversePath)
    if isinstance(inverse, URIRef):
        return f"^<{inverse}>"
    if isinstance(p, BNode) and shapes.value(p, RDF.first) is not None:
        items = list(Collection(shapes, p))
        if all(isinstance(x, URIRef) for x in items):
            return "/".join(f"<{x}>" for x in items)
    raise Unsupported(f"path {p!r}")


class _Vars:
    def __init__(self) -> None:
        self._n = count()

    def __call__(self, stem: str) -> str:
        return f"?{stem}{next(self._n)}"


def _value_conditions(shapes: Graph, ps: Any, v: str) -> list[tuple[str, str]]:
    """(constraint name, SPARQL condition true when value `v` violates it) per value-level constraint."""
    out = []
    dt = shapes.value(ps, SH.datatype)
    if dt is not None:
        if dt not in _WELL_FORMED:
            raise Unsupported(f"datatype {dt}")
        cast = _WELL_FORMED[dt]
        ok = f"isLiteral({v}) && sameTerm(datatype({v}), <{dt}>)"
        if cast:
            ok += f" && COALESCE(BOUND({v}) && isLiteral({cast}(STR({v}))), false)"
        out.append(("datatype", f"!({ok})"))
    for key, op in ((SH.minInclusive, ">="), (SH.minExclusive, ">")):
        lim = shapes.value(ps, key)
        if lim is not None:
            out.append((str(key), f"!COALESCE({v} {op} {_term(lim)}, false)"))
    members = shapes.value(ps, SH["in"])
    if members is not None:
        same = " || ".join(f"sameTerm({v}, {_term(x)})" for x in Collection(shapes, members)) or "false"
        out.append(("in", f"!({same})"))
    cls = shapes.value(ps, SH["class"])
    if cls is not None:
        out.append(("class", f"NOT EXISTS {{ {v} a/<{RDFS_SUBCLASS}>* {_term(cls)} }}"))
    pattern = shapes.value(ps, SH.pattern)
    if pattern is not None:
        flags = shapes.value(ps, SH.flags)
        args = f"{Literal(str(pattern)).n3()}" + (f", {Literal(str(flags)).n3()}" if flags is not None else "")
        out.append(("pattern", f"isBlank({v}) || !REGEX(STR({v}), {args})"))
    return out


def _property_patterns(shapes: Graph, ps: Any, this: str, new: _Vars, value: str = "?value") -> list[tuple[str, bool]]:
    """SPARQL group patterns that match once per violation of property shape `ps` at focus `this`;
    each binds `value` when the violation has a value. (pattern, has_value)."""
    extra = set(shapes.predicates(ps)) - _PROPERTY_KEYS
    if extra:
        raise Unsupported(f"property shape keys {sorted(map(str, extra))}")
    path = sparql_path(shapes, shapes.value(ps, SH.path))
    out: list[tuple[str, bool]] = []
    c = new("c")
    v = new("v")
    for key, op in ((SH.minCount, "<"), (SH.maxCount, ">")):
        n = shapes.value(ps, key)
        if n is not None:
            out.append((f"{{ SELECT {this} (COUNT(DISTINCT {v}) AS {c}) WHERE {{ {{ SELECT DISTINCT {this} WHERE "
                        f"{{ $FOCUS }} }} OPTIONAL {{ {this} {path} {v} }} }} GROUP BY {this} }} "
                        f"FILTER({c} {op} {int(n)})", False))
    q = shapes.value(ps, SH.qualifiedValueShape)
    if q is not None:
        qkeys = set(shapes.predicates(q)) - {RDF.type}
        qcls = shapes.value(q, SH["class"])
        if qkeys != {SH["class"]} or not isinstance(qcls, URIRef):
            raise Unsupported("qualified value shape other than [sh:class C]")
        lo, hi = shapes.value(ps, SH.qualifiedMinCount), shapes.value(ps, SH.qualifiedMaxCount)
        conds = ([f"{c} < {int(lo)}"] if lo is not None else []) + ([f"{c} > {int(hi)}"] if hi is not None else [])
        if conds:
            out.append((f"{{ SELECT {this} (COUNT(DISTINCT {v}) AS {c}) WHERE {{ {{ SELECT DISTINCT {this} WHERE "
                        f"{{ $FOCUS }} }} OPTIONAL {{ {this} {path} {v} . {v} a/<{RDFS_SUBCLASS}>* <{qcls}> }} }} "
                        f"GROUP BY {this} }} FILTER({' || '.join(conds)})", False))
    for _, cond in _value_conditions(shapes, ps, value):
        out.append((f"$FOCUS {this} {path} {value} . FILTER({cond})", True))
    node = shapes.value(ps, SH.node)
    if node is not None:  # the value violates the node shape: any of its constraints, at the value
        n, outer = new("n"), new("s")
        for inner, _ in _node_patterns(shapes, node, n, new, targets=False, value=new("w")):
            out.append((f"$FOCUS {this} {path} {value} . {{ SELECT DISTINCT ({n} AS {value}) WHERE "
                        f"{{ {inner.replace('$FOCUS', f'{outer} {path} {n} .')} }} }}", True))
    return out


def _node_patterns(shapes: Graph, shape: Any, this: str, new: _Vars, targets: bool,
                   value: str = "?value") -> list[tuple[str, Any]]:
    """(pattern, property shape or None) for each property constraint of a node shape."""
    extra = set(shapes.predicates(shape)) - _NODE_KEYS
    if extra:
        raise Unsupported(f"node shape keys {sorted(map(str, extra))}")
    if not targets and (shapes.value(shape, SH.sparql) is not None or shapes.value(shape, SH.targetClass)):
        raise Unsupported("sh:node to a shape with targets or SPARQL constraints")
    out = []
    for ps in shapes.objects(shape, SH.property):
        if shapes.value(ps, SH.message) is None:
            raise Unsupported("property shape without sh:message")
        if not targets and shapes.value(ps, SH.node) is not None:
            raise Unsupported("sh:node inside a shape reached by sh:node")
        for pattern, _ in _property_patterns(shapes, ps, this, new, value):
            out.append((pattern, ps))
    return out


def _prefixes(shapes: Graph, constraint: Any) -> str:
    lines = []
    for src in shapes.objects(constraint, SH.prefixes):
        for decl in shapes.objects(src, SH.declare):
            lines.append(f"PREFIX {shapes.value(decl, SH.prefix)}: <{shapes.value(decl, SH.namespace)}>")
    return "\n".join(lines)


def _sparql_checks(shapes: Graph, shape: Any, focus: str) -> list[Check]:
    out = []
    for constraint in shapes.objects(shape, SH.sparql):
        keys = set(shapes.predicates(constraint)) - {RDF.type}
        select, message = shapes.value(constraint, SH.select), shapes.value(constraint, SH.message)
        if keys - {SH.select, SH.message, SH.prefixes} or select is None or message is None:
            raise Unsupported("SPARQL constraint other than sh:select with sh:message")
        text = str(select).replace("$this", "?this")
        at = text.find("WHERE {")
        if at < 0 or "?value" in text:
            raise Unsupported("SPARQL constraint shape")
        at += len("WHERE {")
        query = f"{_prefixes(shapes, constraint)}\n{text[:at]} {focus} {text[at:]}"
        out.append(Check(query, None, str(message), False, focus_is_value=True))
    return out


def _detail_checks(shapes: Graph, shape: Any, focus: str, new: _Vars) -> list[Check]:
    """pyshacl reports, under a failed sh:node, the value's own violations (sh:detail) too; they
    count where the value is a described node of the batch (one with a type there)."""
    out = []
    for ps in shapes.objects(shape, SH.property):
        node = shapes.value(ps, SH.node)
        if node is None:
            continue
        path = sparql_path(shapes, shapes.value(ps, SH.path))
        outer = new("o")
        values = (f"{{ SELECT DISTINCT ?this WHERE {{ {focus.replace('?this', outer)} {outer} {path} ?this . "
                  f"GRAPH <{BATCH}> {{ ?this a {new('t')} }} }} }}")
        for pattern, inner in _node_patterns(shapes, node, "?this", new, targets=False):
            has_value = "?value" in pattern
            query = (f"SELECT DISTINCT ?this {'?value' if has_value else ''} WHERE {{ "
                     f"{pattern.replace('$FOCUS', values)} }}")
            out.append(Check(query, shapes.value(inner, SH.path), str(shapes.value(inner, SH.message)), has_value))
    return out


@cache
def compile_shapes(shapes: Graph) -> tuple[Check, ...]:
    """Every constraint of every node shape with an sh:targetClass, as one violation query each."""
    checks: list[Check] = []
    new = _Vars()
    for shape in sorted(set(shapes.subjects(SH.targetClass, None)), key=str):
        classes = list(shapes.objects(shape, SH.targetClass))
        if not all(isinstance(c, URIRef) for c in classes):
            raise Unsupported("target class")
        focus = " UNION ".join(f"{{ GRAPH <{BATCH}> {{ ?this a <{c}> }} }}" for c in classes)
        focus = f"{{ {focus} }}"
        for pattern, ps in _node_patterns(shapes, shape, "?this", new, targets=True):
            has_value = "?value" in pattern
            query = (f"SELECT DISTINCT ?this {'?value' if has_value else ''} WHERE {{ "
                     f"{pattern.replace('$FOCUS', focus)} }}")
            checks.append(Check(query, shapes.value(ps, SH.path), str(shapes.value(ps, SH.message)), has_value))
        checks += _sparql_checks(shapes, shape, focus)
        checks += _detail_checks(shapes, shape, focus, new)
    for s in set(shapes.subjects(RDF.type, SH.NodeShape)) - set(shapes.subjects(SH.targetClass, None)):
        if set(shapes.predicates(s)) & {SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target}:
            raise Unsupported("target other than sh:targetClass")
    for s in set(shapes.subjects(SH.severity, None)) | set(shapes.subjects(SH.deactivated, None)):
        raise Unsupported(f"sh:severity / sh:deactivated on {s}")
    return tuple(checks)
