"""PKI for the notary service: the development CA, office signing keys and key stores."""
