# The L2 images: a boot2docker-style Linux for containers (tests/l2/).
# Included by the top-level Makefile.
