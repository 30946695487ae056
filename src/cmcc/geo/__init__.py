"""Geometry: validation, spatial columns and indexes, the geofence engine."""
