from repro_cli.main import entrypoint

entrypoint()
