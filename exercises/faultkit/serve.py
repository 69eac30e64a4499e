"""Live mode: serve the fake provider with a named fault scenario.

    python -m exercises.faultkit.serve --scenario slow --port 9100

Switch at runtime: POST /_faultline/scenario {"name": "outage"} (header
X-Faultline-Token when started with --control-token or FAULTLINE_CONTROL_TOKEN).
"""

from __future__ import annotations

import argparse
import os

from .provider import FakeProvider
from .scenarios import DESCRIPTIONS, SCENARIOS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m exercises.faultkit.serve", description=__doc__)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="healthy")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--control-token", default=os.environ.get("FAULTLINE_CONTROL_TOKEN"))
    args = parser.parse_args(argv)

    import uvicorn

    provider = FakeProvider(
        seed=args.seed, scenario=args.scenario, control=True, control_token=args.control_token
    )
    print(f"fake provider on http://{args.host}:{args.port}/v1, scenario {args.scenario!r}")
    for name, text in DESCRIPTIONS.items():
        print(f"  {name:8} {text}")
    uvicorn.run(provider, host=args.host, port=args.port, log_level="warning", lifespan="off")


if __name__ == "__main__":
    main()
