"""A request's DER whose last byte reads as white space (an ECDSA signature ends in any byte)
is signed like any other: enrollment passes the DER on, and the CA reads it whole. It once
lost that byte, failing about one enrollment in forty."""

from __future__ import annotations

import base64

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cmcc.tak import enrollment, pki


def _der_ending_in_space() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    for n in range(5000):
        subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, f"device-{n}")])
        csr = (
            x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
        )
        der = csr.public_bytes(serialization.Encoding.DER)
        if der[-1:].isspace():
            return der
    raise AssertionError("no request ended in a white-space byte in 5,000 tries")


def test_a_request_ending_in_a_space_byte_is_read_whole() -> None:
    der = _der_ending_in_space()
    assert enrollment.read_request(base64.b64encode(der)) == der
    assert pki._load_csr(der).public_bytes(serialization.Encoding.DER) == der
