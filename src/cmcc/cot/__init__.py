"""The TAK gateway: Cursor on Target over TCP and UDP, XML and TAK Protocol v1 (issue 7)."""
