"""Certificates: issued once as a PDF and kept, verifiable by anyone, with expiry, renewal and
revocation."""
