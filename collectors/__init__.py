"""GPU-host agent (NVML sampler writing collector files v1; stdlib + nvidia-ml-py only).

The file format it writes is specified in docs/contracts.md and already read by
connectors.gpu_telemetry; the sampler itself lands with the GPU telemetry issue.
"""
