"""The pure domain: models and the decision engine. No I/O, no clock reads."""
