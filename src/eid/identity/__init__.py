"""Holder login, bound devices, the OpenID Connect provider and eKYC consent."""
