"""Study S4: the ELBO of Gaussian VAEs converges to a sum of three entropies."""
