#!/usr/bin/env python3
"""Django's command-line entry point for Faultline."""

import os
import sys
from pathlib import Path

# platform/ is a plain folder on the path, never a package: a package named
# `platform` would shadow the stdlib module and break uuid, pytest and Celery.
sys.path.insert(0, str(Path(__file__).resolve().parent / "platform"))
sys.path.insert(1, str(Path(__file__).resolve().parent))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faultline.settings")
    from faultline.env import ConfigError

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(sys.argv)
    except ConfigError as exc:
        print(f"faultline: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
