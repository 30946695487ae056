"""The web interface: server-rendered pages, the map, and the dashboards (issue 6)."""
