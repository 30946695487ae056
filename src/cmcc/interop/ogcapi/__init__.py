"""OGC API - Features (Part 1 core, GeoJSON, OpenAPI 3.0; Part 3 queryables) under /ogc.

Modules publish collections by registering a `CollectionProvider` (`registry.register`); the
router is the one adapter that speaks the protocol, and each provider applies the release
policy in its own queries with the caller's `Viewer`.
"""
