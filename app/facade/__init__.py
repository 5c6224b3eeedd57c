"""The IBM-compatible facade: the part of IBM Quantum Platform's REST API that
qiskit-ibm-runtime 0.51 calls, under /ibm, so that the official client runs through the gateway
unchanged (one URL changed). IAM's token exchange is at /ibm/identity/token, the runtime API
under /ibm/api/v1 (`routes.py`). A facade job is a gateway job; errors are in IBM's shape
(`errors.py`)."""
