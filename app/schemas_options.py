"""A job's `options`: the trees of qiskit-ibm-runtime 0.51's executor `SamplerOptions` and
`EstimatorOptions` (`qiskit_ibm_runtime.options_models`), plus the gateway's own `seed` and
`optimization_level`.

Written by hand because building the API must not import qiskit-ibm-runtime (it pulls in Aer);
`tests/test_options_schema.py` walks the library's models and fails when these differ from them
(names, nesting, types, defaults, ranges, choices). The descriptions are the library's
docstrings, shortened. The library's own validators, cross-field rules too, run on the options
after these, in a parse process (`core/options.py`).

Left out, each refused with its reason (`app/fields_options.py` `LEFT_OUT`): what the library
marks experimental or deprecated, what only IBM sets, and learned noise models (objects, not
JSON).
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, validate

from app.fields import Float, Integer, List, Nested, String
from app.fields_options import (
    EXTRAPOLATORS,
    LOG_LEVELS,
    MAX_EXTRAPOLATED,
    MAX_JOB_TAGS,
    MAX_NOISE_FACTORS,
    NumbersOrAuto,
    OneOrMany,
    auto,
    choice,
    flag,
    refused,
    said,
)
from app.schemas_base import StrictSchema

OBJECT = {"type": "must be an object"}


class TwirlingSchema(StrictSchema):
    error_messages = OBJECT
    enable_gates = flag("twirl 2-qubit Clifford gates; unset: false for the sampler, for the "
                        "estimator true at resilience_level 2 only", None)
    enable_measure = flag("twirl measurements (those outside conditional blocks); unset: false "
                          "for the sampler, for the estimator true at resilience_level 1 and 2",
                          None)
    group = choice(["pauli", "balanced_pauli", "local_c1", "local_pauli"],
                   "the group that twirls the identified layers", "pauli")
    num_randomizations = auto("random circuits drawn; auto: ceil(shots / "
                              "shots_per_randomization)")
    shots_per_randomization = auto("shots of each random circuit; auto: max(64, "
                                   "ceil(shots / 32)) when both are auto, else "
                                   "ceil(shots / num_randomizations)")
    strategy = choice(["active", "active-accum", "active-circuit", "all"],
                      "which qubits of a twirled layer are twirled", "active-accum")


class DynamicalDecouplingSchema(StrictSchema):
    error_messages = OBJECT
    enable = flag("insert dynamical decoupling sequences on idle qubits", False)
    sequence_type = choice(["XX", "XpXm", "XY4"], "the DD sequence", "XX")
    extra_slack_distribution = choice(["middle", "edges"], "where delays left by rounding to "
                                      "the device's dt go", "middle")
    scheduling_method = choice(["alap", "asap"], "schedule gates as late or as soon as "
                               "possible", "alap")
    skip_reset_qubits = flag("no DD on idle periods right after an initialisation or reset",
                             False)


class ExecutionSchema(StrictSchema):
    error_messages = OBJECT
    init_qubits = flag("reset the qubits to the ground state before each shot", True)
    rep_delay = Float(strict=True, allow_none=True, metadata=said(
        "seconds between a measurement and the next circuit, within the backend's "
        "rep_delay_range (its configuration); unset: its default_rep_delay", None))
    scheduler_timing = refused("execution.scheduler_timing")
    stretch_values = refused("execution.stretch_values")


class SamplerExecutionSchema(ExecutionSchema):
    meas_type = choice(["classified", "kerneled", "avg_kerneled"],
                       "what a register returns: bits, or IQ points per shot or averaged",
                       "classified")


class EnvironmentSchema(StrictSchema):
    error_messages = OBJECT
    log_level = choice(LOG_LEVELS, "logging level of the execution environment", "WARNING")
    job_tags = List(String(), validate=validate.Length(max=MAX_JOB_TAGS), metadata=said(
        "tags of the job where it runs (on IBM Quantum, besides the job's `tags` and the "
        "gateway's own)", []))
    private = flag("IBM Quantum: inputs not returned, results readable once", False)
    max_execution_time = refused("environment.max_execution_time")
    image = refused("environment.image")


class SimulatorSchema(StrictSchema):
    error_messages = OBJECT
    seed_simulator = Integer(strict=True, allow_none=True, metadata=said(
        "seed of the simulation's sampling", None))
    angle_decimals = refused("simulator.angle_decimals")
    layer_noise_model = refused("simulator.layer_noise_model")
    warn_absent = refused("simulator.warn_absent")


class MeasureNoiseLearningSchema(StrictSchema):
    error_messages = OBJECT
    num_randomizations = auto("random circuits of the measurement-learning (TREX) experiment; "
                              "auto: as many as twirling's")


class ZneSchema(StrictSchema):
    error_messages = OBJECT
    amplifier = choice(["gate_folding", "gate_folding_front", "gate_folding_back", "pea"],
                       "how noise is amplified (pea needs a learned noise model)",
                       "gate_folding")
    noise_factors = NumbersOrAuto(1, 2, MAX_NOISE_FACTORS, metadata=said(
        "noise factors to amplify by, each at least 1; auto: [1, 3, 5]; one run each", "auto"))
    extrapolator = OneOrMany(EXTRAPOLATORS, len(EXTRAPOLATORS), metadata=said(
        "extrapolator(s) to try, in order; each needs enough noise factors",
        ["exponential", "linear"]))
    extrapolated_noise_factors = NumbersOrAuto(0, 0, MAX_EXTRAPOLATED, metadata=said(
        "noise factors to evaluate the fits at; auto: [0, *noise_factors]", "auto"))


class PecSchema(StrictSchema):
    error_messages = OBJECT
    max_overhead = Float(strict=True, allow_none=True,
                         validate=validate.Range(min=0, min_inclusive=False),
                         metadata=said("largest sampling overhead (gamma^2) allowed; null: "
                                       "none", 100))
    noise_gain = auto("noise scale: 0 removes the learned noise, 1 keeps it; auto: "
                      "1 - log(max_overhead) / log(gamma^2)", minimum=0, integer=False)


class ResilienceSchema(StrictSchema):
    error_messages = OBJECT
    measure_mitigation = flag("measurement error mitigation (TREX); unset: true at "
                              "resilience_level 1 and 2", None)
    measure_noise_learning = Nested(MeasureNoiseLearningSchema)
    pec_mitigation = flag("probabilistic error cancellation (needs a learned noise model)",
                          False)
    pec = Nested(PecSchema)
    zne_mitigation = flag("zero-noise extrapolation; unset: true at resilience_level 2", None)
    zne = Nested(ZneSchema)
    layer_noise_model = refused("resilience.layer_noise_model")


class CommonOptionsSchema(StrictSchema):
    """What both programs take: the gateway's own options, then the library's."""

    error_messages = {"type": 'must be an object, e.g. {"seed": 7, "optimization_level": 1}'}

    seed = Integer(strict=True, validate=validate.Range(min=0, max=2**32 - 1), metadata={
        "description": "the gateway's: seed of the transpiler (and of the simulator unless "
                       "simulator.seed_simulator is set)"})
    optimization_level = Integer(strict=True, validate=validate.Range(min=0, max=3),
                                 metadata={"description": "the gateway's: transpiler level; "
                                                          "1 if unset"})
    max_execution_time = Integer(strict=True, allow_none=True, validate=validate.Range(min=1),
                                 metadata=said("seconds the job may run, at most "
                                               "GATEWAY_JOB_TIME_LIMIT_SECONDS", None))
    twirling = Nested(TwirlingSchema)
    dynamical_decoupling = Nested(DynamicalDecouplingSchema)
    simulator = Nested(SimulatorSchema)
    environment = Nested(EnvironmentSchema)
    experimental = refused("experimental")


class SamplerOptionsSchema(CommonOptionsSchema):
    default_shots = Integer(strict=True, allow_none=True, validate=validate.Range(min=1),
                            metadata={"description": "shots of a PUB that sets none; unset: "
                                      "GATEWAY_DEFAULT_SHOTS (1024 unless configured; the "
                                      "library's default is 4096)"})
    execution = Nested(SamplerExecutionSchema)


class EstimatorOptionsSchema(CommonOptionsSchema):
    default_precision = Float(strict=True, validate=validate.Range(min=0, min_inclusive=False),
                              metadata=said("precision of a PUB that sets none (shots = "
                                            "1 / precision^2)", 0.015625))
    default_shots = Integer(strict=True, allow_none=True, validate=validate.Range(min=0),
                            metadata=said("shots per circuit and configuration; overrides "
                                          "default_precision", None))
    execution = Nested(ExecutionSchema)
    resilience_level = Integer(strict=True, validate=validate.OneOf([0, 1, 2]), metadata=said(
        "0: no mitigation; 1: readout (TREX with measurement twirling); 2: also ZNE with gate "
        "twirling. Not applied on the ideal simulator", 1))
    resilience = Nested(ResilienceSchema)


OPTIONS_SCHEMAS = {"sampler": SamplerOptionsSchema(), "estimator": EstimatorOptionsSchema()}
OTHER = {"sampler": "estimator", "estimator": "sampler"}


def check_options(program: str, options: Any) -> None:
    """ValidationError, keyed under `options`, unless the options fit the program's tree. An
    option only the other program takes is named as such."""
    schema = OPTIONS_SCHEMAS[program]
    try:
        schema.load(options)
    except ValidationError as exc:
        messages = _other_programs(exc.messages, OPTIONS_SCHEMAS[OTHER[program]], program)
        raise ValidationError({"options": messages}) from None


def _other_programs(messages: Any, other: Any, program: str) -> Any:
    """The messages, an unknown field that the other program's tree has said as such."""
    if not isinstance(messages, dict) or other is None:
        return messages
    said_here = {}
    for name, value in messages.items():
        field = other.fields.get(name) if hasattr(other, "fields") else None
        if field is not None and _unknown(value):
            said_here[name] = [f"the {program} takes no `{name}`: it is the "
                               f"{OTHER[program]}'s option"]
        else:
            said_here[name] = _other_programs(value, getattr(field, "schema", None), program)
    return said_here


def _unknown(value: Any) -> bool:
    return isinstance(value, list) and any(str(m).startswith("unknown field") for m in value)
