# nvlaunch: the project's KVM launcher that L1 uses to start a Linux L2
# (tools/nvlaunch/). Included by the top-level Makefile.
