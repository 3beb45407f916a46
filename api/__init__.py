"""digistrat's HTTP service: SPARQL endpoint, linked-data views, validation service."""
