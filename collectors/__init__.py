"""GPU-host agent (NVML sampler writing collector files v1; stdlib + nvidia-ml-py only).

`collectors.gpu_collector` is the agent (entry point ``aispend-gpu-collector``); the file format
is specified in collectors/README.md and docs/contracts.md and read by connectors.gpu_telemetry.
Nothing here may import outside the standard library and ``pynvml``.
"""
