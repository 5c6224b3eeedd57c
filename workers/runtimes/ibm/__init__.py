"""IBM Quantum runtime: the short RQ steps that send jobs upstream and follow them."""
