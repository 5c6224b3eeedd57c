"""IBM Quantum behind the gateway's API, through qiskit-ibm-runtime's own client.

`account` holds this process's client; `trouble` names every upstream failure and keeps the
token out of messages and logs; `state` owns the Redis keys of the IBM side; `context` is what
every step needs; `submit` turns a gateway job into an upstream one; `follow` looks at an
upstream job and reports it into the store; `tasks` are the short RQ steps that chain these,
and the sweeper that re-attaches jobs and keeps the account's devices cached; `devices`
describes those devices for the cache.
"""
