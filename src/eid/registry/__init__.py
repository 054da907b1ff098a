"""The national immigration database: the port eid calls, and a reference registry."""
