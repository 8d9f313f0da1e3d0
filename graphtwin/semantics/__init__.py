"""Semantics: vocabulary, RDF documents, the RDF <-> property-graph mapping, SHACL."""
