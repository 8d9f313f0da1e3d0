"""Real peers the tests start for themselves: a Mosquitto broker on loopback."""
