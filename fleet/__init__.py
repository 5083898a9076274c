"""Fleet management over MQTT: devices, the knowledge graph and deployments as one running system.

protocol (topics, payloads, limits) -> broker (Mosquitto config, credentials, ACL, TLS) ->
manager (registrations and presence into the knowledge graph, deployments) and agent (a device:
presence, chunked resumable download, verify, A/B apply, telemetry); simulate runs many agents.
"""
