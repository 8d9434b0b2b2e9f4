"""Where vqlab's Hydra configs live, and the resolvers they use."""
