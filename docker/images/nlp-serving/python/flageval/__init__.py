"""Proctor's own implementation of the flageval-serving interface that user services import."""
