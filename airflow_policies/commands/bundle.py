"""``airflow-policies bundle``: build an OPA bundle, print a replica's OPA config, read the replicas' status."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from airflow_policies.commands.common import (
    EXIT_OK,
    EXIT_REJECTED,
    Subcommands,
    command_sources,
    repository_files,
)
from airflow_policies.exceptions import ConfigurationError, PolicyError
from airflow_policies.policy.bundle import build_bundle, replica_config, replica_status

__all__ = ["register"]


def register(commands: Subcommands) -> None:
    """Add this command's parser."""
    bundle = commands.add_parser("bundle", help="OPA bundles: build (optionally signed), replica config and status")
    bundle_commands = bundle.add_subparsers(dest="bundle_command", required=True)
    build = bundle_commands.add_parser("build", help="build a standard OPA bundle with `opa build`")
    build.add_argument(
        "--registry", type=Path, help="team registry, e.g. the output of sync (default: the policy repository's)"
    )
    build.add_argument(
        "--rego", type=Path, help="rule directory (default: the policy repository's, with the library; else shipped)"
    )
    build.add_argument(
        "--rollout", type=Path, help="rollout file: action overrides, exceptions (default: the policy repository's)"
    )
    build.add_argument(
        "--team-rules", type=Path, help="directory of team layers, <team>/*.rego (default: the policy repository's)"
    )
    build.add_argument("--output", type=Path, default=Path("bundle.tar.gz"))
    build.add_argument("--revision", help="the bundle revision (default: a hash of its rules and data)")
    build.add_argument("--signing-key", type=Path, help="PEM private key (RSA/ECDSA) to sign the bundle with")
    build.add_argument("--signing-alg", default="RS256", help="JWT algorithm of the signature (default: RS256)")
    build.add_argument("--key-id", default="airflow_policies", help="key id the replicas verify with")
    build.add_argument(
        "--target",
        choices=["rego", "wasm"],
        default="rego",
        help="wasm: the rules compiled to OPA's Wasm target, for the in-process engine (engine: wasm)",
    )
    config = bundle_commands.add_parser("opa-config", help="print the OPA config of a replica polling a bundle server")
    config.add_argument("server_url", help="base URL of the bundle server")
    config.add_argument("--public-key", type=Path, help="PEM public key: activate only bundles signed with its pair")
    config.add_argument("--key-id", default="airflow_policies")
    config.add_argument(
        "--resource", default="bundles/airflow_policies.tar.gz", help="path of the bundle on the server"
    )
    status = bundle_commands.add_parser("status", help="the bundle revision each OPA replica serves")
    status.add_argument("opa_urls", nargs="+", metavar="OPA_URL")
    status.add_argument("--expect", help="exit 1 unless every replica serves this revision")
    bundle.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Build a bundle, print a replica's OPA config, or report each replica's revision."""
    if args.bundle_command == "build":
        # In a policy repository its registry, rollout and team layers are the defaults, named in the output.
        defaults = repository_files(args)
        registry = args.registry or defaults.registry
        rollout = args.rollout or defaults.rollout
        team_rules = args.team_rules or defaults.team_rules
        if registry is None:
            raise ConfigurationError("no team registry: pass --registry FILE (a policy repository's is the default)")
        revision = build_bundle(
            registry,
            args.output,
            rego=command_sources(args),
            rollout=rollout,
            team_rules=team_rules,
            revision=args.revision,
            signing_key=args.signing_key,
            signing_alg=args.signing_alg,
            key_id=args.key_id,
            wasm=args.target == "wasm",
        )
        print(f"{args.output}: revision {revision}{' (signed)' if args.signing_key else ''}")
        print(f"  registry {registry}, rollout {rollout or '-'}, team layers {team_rules or '-'}")
        return EXIT_OK
    if args.bundle_command == "opa-config":
        config = replica_config(args.server_url, resource=args.resource, public_key=args.public_key, key_id=args.key_id)
        print(yaml.safe_dump(config, sort_keys=False), end="")
        return EXIT_OK
    behind = 0
    for url in args.opa_urls:
        try:
            state = replica_status(url)
        except PolicyError as exc:
            print(f"{url}  UNREACHABLE  {exc}")
            behind += 1
            continue
        current = args.expect is None or state.revision == args.expect
        behind += 0 if current and state.bundle_active else 1
        label = "active" if state.bundle_active else "NOT ACTIVE"
        print(f"{url}  {label}  revision {state.revision or '-'}{'' if current else '  (BEHIND)'}")
    return EXIT_REJECTED if behind else EXIT_OK
