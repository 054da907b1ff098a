"""The e-residence card as an SD-JWT VC: issuance to the bound device, status list, verifier."""
