"""The `crm` command line: an entry point that drives the domain and serves the edge."""
