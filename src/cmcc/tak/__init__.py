"""TAK in the field: certificates, TLS, enrollment, data packages (issue 16)."""
