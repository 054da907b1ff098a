"""The e-ID authority: receives signed account requests, issues e-ID numbers, keeps accounts."""
