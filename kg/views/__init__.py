"""View models of the pages, one module per page family.

* :mod:`kg.views.common` — the one query entry point of every view, labels, names, years;
* :mod:`kg.views.resource` — any resource: description, serialisations, property groups,
  incoming links, sources;
* :mod:`kg.views.municipality`, :mod:`kg.views.strategy` — municipalities, strategies and
  their elements;
* :mod:`kg.views.vocabulary` — concept schemes and concepts;
* :mod:`kg.views.schema` — the ontology and the shapes;
* :mod:`kg.views.overview` — views across the graph (comparison, timeline).

They know nothing of the web: routes (``api/routes``) call them and render what they return.
"""
