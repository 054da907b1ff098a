"""Form TK01 at the immigration office: capture, guardian, consent, submission."""
