"""The exercise driver: simulated contingent units and injects played against a running
server through its public interfaces (`cmcc exercise run`, and `cmcc demo`)."""
