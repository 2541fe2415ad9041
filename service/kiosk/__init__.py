"""Kiosks: devices and their request signatures, resident cards, challenges, kiosk sessions and codes."""
