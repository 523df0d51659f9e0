"""Signing PDFs, shared by issuing (certificates) and verifying (signed reports): PAdES
signatures, PDF/A, the CJK font, and the rules for text that may be printed."""
