"""Bundled data: the demo artifact (two versions) and the emulator's geo table."""
