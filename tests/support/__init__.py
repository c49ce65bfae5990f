"""Test helpers shared by the suites: the loopback feed server and its fixtures."""
