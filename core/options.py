"""A job's options as qiskit-ibm-runtime's executor primitives take them.

The API checks their shape (`app/schemas_options.py`); here the library's own models and the
rules it enforces before a run judge them, so that what the library would refuse is a 422 at
submit time, named by the option's path. The library pulls in Aer: the API calls this in a parse
process (`core/parse_pool.py`), never in its own; the workers call `library_options` to build
what they run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from core.admission import Inspection, inspect_pubs
from core.circuits import load_parsers
from core.errors import InvalidJobInput
from core.mitigation_cost import count

GATEWAY_OPTIONS = ("seed", "optimization_level")  # the gateway's own: the library has neither


def library_options(program: str, options: dict[str, Any]) -> Any:
    """The library's `SamplerOptions` / `EstimatorOptions` of the job's options (the gateway's
    own left out), its defaults for the rest; InvalidJobInput naming each invalid option."""
    from pydantic import ValidationError
    from qiskit_ibm_runtime.options_models import EstimatorOptions, SamplerOptions

    model = SamplerOptions if program == "sampler" else EstimatorOptions
    given = {name: value for name, value in options.items() if name not in GATEWAY_OPTIONS}
    try:
        return model(**given)
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors():
            errors.setdefault(option_path(model, error["loc"]), []).append(error["msg"])
        raise _invalid(errors) from None


def option_path(model: Any, loc: Sequence[int | str]) -> str:
    """`options.a.b` of a pydantic error's location: its field names (and a list index), not
    the names pydantic gives the branches of a union."""
    path, current = ["options"], model
    for part in loc:
        if isinstance(part, int):
            path.append(str(part))
            break
        fields = getattr(current, "model_fields", {})
        if part not in fields:
            break
        path.append(part)
        current = fields[part].annotation
    return ".".join(path)


def finalized_options(program: str, options: dict[str, Any]) -> Any:
    """The library's options with what it resolves before a run resolved (the resilience
    level's defaults, twirling forced on by the mitigation that needs it), after its own
    checks of the options: InvalidJobInput for what it would refuse."""
    return finalize(program, library_options(program, options))


def finalize(program: str, chosen: Any) -> Any:
    """`finalized_options` of the library's options model `chosen`."""
    if program == "sampler":
        from qiskit_ibm_runtime.executor_sampler.finalize_options import (
            finalize_sampler_options,
        )

        final = finalize_sampler_options(chosen)
        _check_sampler(final)
        return final
    from qiskit_ibm_runtime.executor_estimator.finalize_options import (
        finalize_estimator_options,
    )

    final = finalize_estimator_options(chosen)
    _check_estimator(final)
    return final


def _check_sampler(options: Any) -> None:
    if options.execution.meas_type != "classified" and options.twirling.enable_measure:
        raise _invalid({"options.execution.meas_type": [
            "measurement twirling (twirling.enable_measure) needs meas_type classified"]})


def _check_estimator(options: Any) -> None:
    """The library's option rules (`executor_estimator/prepare.py` `_validate`), those that
    need no circuit."""
    from qiskit_ibm_runtime.exceptions import IBMInputValueError
    from qiskit_ibm_runtime.executor_estimator.prepare import normalise_extrapolator
    from qiskit_ibm_runtime.executor_estimator.utils import (
        resolve_noise_factors,
        validate_noise_factors,
    )

    resilience = options.resilience
    if resilience.pec_mitigation and resilience.zne_mitigation:
        raise _invalid({"options.resilience.pec_mitigation": [
            "PEC and ZNE mitigation are incompatible with one another (zne_mitigation is on, "
            "or resilience_level 2 turns it on)"]})
    if resilience.pec_mitigation:
        raise _invalid({"options.resilience.pec_mitigation": [
            "PEC needs a learned noise model (resilience.layer_noise_model), which the "
            "gateway cannot take: it is made of qiskit objects, not JSON"]})
    if resilience.zne_mitigation and resilience.zne.amplifier == "pea":
        raise _invalid({"options.resilience.zne.amplifier": [
            "pea needs a learned noise model (resilience.layer_noise_model), which the "
            "gateway cannot take: it is made of qiskit objects, not JSON"]})
    if resilience.zne_mitigation:
        factors, _ = resolve_noise_factors(resilience.zne)
        try:
            validate_noise_factors(factors, normalise_extrapolator(resilience.zne.extrapolator))
        except IBMInputValueError as exc:
            raise _invalid({"options.resilience.zne.noise_factors": [str(exc).strip("'")]}) \
                from None


def _invalid(errors: dict[str, list[str]]) -> InvalidJobInput:
    first = next(iter(errors.items()))
    return InvalidJobInput(f"{first[0]}: {first[1][0]}", errors=errors)


def inspect_job(program: str, pubs: list[dict[str, Any]], options: dict[str, Any],
                *inspecting: Any) -> Inspection:
    """In a parse process: the options judged by the library's rules, the PUBs inspected
    (`core/admission.py` `inspect_pubs(program, pubs, *inspecting)`), and what the options
    make run counted (`core/mitigation_cost.py`)."""
    final = finalized_options(program, options)
    inspection = inspect_pubs(program, pubs, *inspecting)
    return replace(inspection, mitigation=count(program, final, pubs, inspection.pubs))


def load_checkers() -> None:
    """What a parse process needs loaded (`core/parse_pool.py` `prepare`): the parsers, and
    the library that checks options and counts what they make run."""
    import qiskit_ibm_runtime.executor_estimator.prepare
    import qiskit_ibm_runtime.executor_sampler.finalize_options  # noqa: F401

    load_parsers()
