"""IBM Quantum as both sides see it: the account, its failures, devices and job links."""
