"""NATS between the processes of one platform (CMCC_NATS_URL): the connection kept up
(`connection`), the event bus over it (`bus`). Without CMCC_NATS_URL nothing here runs."""
