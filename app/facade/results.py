"""A facade job's result in the encoding its client decodes.

`sampler`/`estimator` programs: the gateway's own `?format=runtime` result, RuntimeEncoder JSON
of the same PrimitiveResult the client's ResultDecoder reads. `executor` programs: that
sampler result turned into the executor's QuantumProgramResult model (each register's shots as
booleans, as the library's local runner returns them, after the samplex outputs sampled at
submission, e.g. twirling's measurement flips), with the passthrough data the client's
post-processor (ClientSideSamplerResultDecoder / ClientSideEstimatorDecoder) needs."""

from __future__ import annotations

import json
from typing import Any


def executor_result(runtime_json: bytes, meta: dict[str, Any]) -> str:
    """In a parse process: the QuantumProgramResult model (v2.0) as JSON."""
    from ibm_quantum_schemas.common.tensor import CompressedTensorModel
    from ibm_quantum_schemas.executor.version_2_0 import QuantumProgramResultModel
    from qiskit.primitives import BitArray
    from qiskit_ibm_runtime.utils.json import RuntimeDecoder

    result = json.loads(runtime_json, cls=RuntimeDecoder)
    names = meta.get("registers") or {}
    outputs = meta.get("samplex_outputs") or [{} for _ in result]
    items = [{"results": {**extra, **{names.get(name, name): CompressedTensorModel.from_numpy(
                              bits.to_bool_array(order="little"))
                          for name, bits in pub.data.items() if isinstance(bits, BitArray)}},
              "metadata": {}} for pub, extra in zip(result, outputs, strict=True)]
    return QuantumProgramResultModel.model_validate({
        "data": items, "metadata": {"chunk_timing": []},
        "passthrough_data": meta.get("passthrough_data"),
        "semantic_role": meta.get("semantic_role"),
    }).model_dump_json()


def renamed_result(runtime_json: bytes, names: dict[str, str]) -> str:
    """In a parse process: a sampler result whose registers carry the client's names again."""
    from qiskit.primitives import DataBin, PrimitiveResult, SamplerPubResult
    from qiskit_ibm_runtime.utils.json import RuntimeDecoder, RuntimeEncoder

    result = json.loads(runtime_json, cls=RuntimeDecoder)
    pubs = [SamplerPubResult(DataBin(**{names.get(name, name): value
                                        for name, value in pub.data.items()},
                                     shape=pub.data.shape), pub.metadata) for pub in result]
    return json.dumps(PrimitiveResult(pubs, result.metadata), cls=RuntimeEncoder)
