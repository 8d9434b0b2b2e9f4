"""Clustering in torch: k-means for codebook initialisation, correlation clustering of features."""
