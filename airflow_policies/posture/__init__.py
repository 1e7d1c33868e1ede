"""Posture: what lets a team's code act as another team in this deployment, found without deciding anything."""
