"""Semantic management: a knowledge graph of boards, devices and compiled models.

describe (RDF from boards, reports, registrations) -> validate (SHACL) -> store (Oxigraph or a
SPARQL 1.1 endpoint) -> queries (.rq) / match / stale / td (W3C Thing Descriptions).
"""
