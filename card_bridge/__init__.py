"""The kiosk's card bridge (risai-card-bridge): a small HTTP service on the kiosk's loopback
that signs the node's challenge with the resident's card, and prints on the kiosk's printer.
See docs/kiosk.md for the interface."""
