"""GraphQL: the ontology in force."""
