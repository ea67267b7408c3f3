from repro_cuda.cli import entrypoint

entrypoint()
