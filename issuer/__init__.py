"""Issuing: matter templates, PDF rendering, QR codes, PAdES signing, certificate lifecycle."""
