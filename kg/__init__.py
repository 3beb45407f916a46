"""digistrat core: load, store, validate, query and export the knowledge graph.

This package knows nothing of the web; ``api`` builds on it.
"""
