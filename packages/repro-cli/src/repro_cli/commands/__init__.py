"""One module per `repro` subcommand (discovered by repro_cli.main)."""
