"""Exchange with other tools: tabular files (CSV, HXL), GeoJSON, and the standards adapters."""
