"""tensorcore.distributions: torch.distributions' most used families (Categorical, Normal, Bernoulli,
Uniform) and kl_divergence between two of the same family. log_prob, entropy and rsample are Tensor ops,
so gradients flow to the parameters (REINFORCE, the reparameterization trick); sample() draws from
tc.manual_seed's generator and records nothing.

Example:
    dist = tc.distributions.Categorical(logits=policy(state))
    action = dist.sample()
    loss = -(dist.log_prob(action) * advantage).mean()
"""

from .families import Bernoulli, Categorical, Distribution, Normal, Uniform, kl_divergence

__all__ = ["Bernoulli", "Categorical", "Distribution", "Normal", "Uniform", "kl_divergence"]
