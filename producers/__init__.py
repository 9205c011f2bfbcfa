"""Producers: make the registration and vote events of a scenario and post them."""
