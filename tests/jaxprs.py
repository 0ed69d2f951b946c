"""Reading jaxprs in tests: what a traced function computes, loops and calls included."""

import jax
import jax.extend


def equations(jaxpr):
    """Every equation of a jaxpr, inside loops and calls too."""
    for eqn in jaxpr.eqns:
        yield eqn
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            yield from equations(sub)
