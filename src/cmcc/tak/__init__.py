"""TAK in the field: the installation's certificate authority (`pki`), its records (`models`),
the TLS side of the gateway's ports (`tls`) and HTTPS servers on them (`https`)."""
